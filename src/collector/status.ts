import { formatTimestamp, parseTimestamp } from "../duration.js";
import { parseIp } from "../ip.js";
import type { Coverage, Gap } from "../observed-egress.js";
import { sameContent } from "../canonical.js";
import { asObject, type Obj } from "../shape.js";
import { mergeGaps, observableSince, REASON_MAX } from "./coverage.js";
import {
  DEFAULT_LIMITS,
  asItself,
  serviceKeyPrefix,
  destinationKey,
  type Limits,
  type ObservedTarget,
  type SeenDestination,
  type WorkloadSnapshot,
} from "./egress-state.js";

/**
 * The ObservedEgress status the collector writes: what it holds in memory merged with what is
 * stored (written before a restart, or by another replica), so no writer loses another's
 * data. Pure: the stored status in, the status to write out, and whether it changed at all.
 */

const obj = asObject;

function time(v: unknown): number | undefined {
  return typeof v === "string" ? parseTimestamp(v) : undefined;
}

function ports(v: unknown): number[] {
  return Array.isArray(v)
    ? v.filter((p): p is number => Number.isInteger(p) && p >= 1 && p <= 65535)
    : [];
}

/** A stored destination, or undefined when it is not one (it is then dropped). */
export function storedDestination(v: unknown): SeenDestination | undefined {
  const d = obj(v);
  const lastSeen = time(d?.lastSeen);
  if (!d || lastSeen === undefined) return undefined;
  const firstSeen = time(d.firstSeen) ?? lastSeen;
  const i = obj(d.internet);
  const k = obj(d.kubernetes);
  let target: ObservedTarget;
  if (i && !k) {
    const ips = Array.isArray(i.ips)
      ? i.ips.flatMap((x) => {
          const ip = typeof x === "string" ? parseIp(x) : undefined;
          return ip ? [ip.text] : [];
        })
      : [];
    const dnsName = typeof i.dnsName === "string" && i.dnsName !== "" ? i.dnsName : undefined;
    if (dnsName === undefined && ips.length === 0) return undefined;
    target = dnsName === undefined ? { kind: "internet", ips } : { kind: "internet", dnsName, ips };
    return { key: destinationKey(target), target, ports: ports(i.ports), firstSeen, lastSeen };
  }
  if (k && !i && typeof k.name === "string" && typeof k.namespace === "string") {
    target = {
      kind: "kubernetes",
      name: k.name,
      namespace: k.namespace,
      ...(typeof k.kind === "string" ? { workloadKind: k.kind } : {}),
      ...(typeof k.service === "string" ? { service: k.service } : {}),
    };
    return { key: destinationKey(target), target, ports: ports(k.ports), firstSeen, lastSeen };
  }
  return undefined;
}

/** A destination as the CRD writes it. */
export function destinationObject(d: SeenDestination): Obj {
  const seen = { firstSeen: formatTimestamp(d.firstSeen), lastSeen: formatTimestamp(d.lastSeen) };
  const withPorts = d.ports.length > 0 ? { ports: [...d.ports] } : {};
  const t = d.target;
  if (t.kind === "kubernetes") {
    return {
      kubernetes: {
        name: t.name,
        namespace: t.namespace,
        ...(t.workloadKind ? { kind: t.workloadKind } : {}),
        ...(t.service ? { service: t.service } : {}),
        ...withPorts,
      },
      ...seen,
    };
  }
  return {
    internet: {
      ...(t.dnsName !== undefined ? { dnsName: t.dnsName } : {}),
      ...(t.ips.length > 0 ? { ips: [...t.ips] } : {}),
      ...withPorts,
    },
    ...seen,
  };
}

/**
 * Merges two sightings of one destination; `b` is the more recent. With `hold`, a lastSeen that
 * moved by no more than the granularity keeps `a`'s: what is stored stays as it is until the
 * move is worth a write (a restarted collector's first sightings rewrite nothing).
 */
function mergeOne(
  a: SeenDestination,
  b: SeenDestination,
  limits: Limits,
  cuts: Set<string>,
  hold = false,
) {
  let target = b.target;
  const ta = a.target;
  const tb = b.target;
  if (ta.kind === "internet" && tb.kind === "internet") {
    if (tb.ips.every((ip) => ta.ips.includes(ip))) {
      // Nothing new (answers in another order, as CoreDNS's loadbalance gives them): a's order.
      target = { ...tb, ips: ta.ips };
    } else {
      // b is the more recent sighting: its IPs go last, and the oldest are cut first.
      const ips = [...ta.ips.filter((ip) => !tb.ips.includes(ip)), ...tb.ips];
      if (ips.length > limits.ips) cuts.add(`ips of ${tb.dnsName ?? b.key}`);
      target = { ...tb, ips: ips.slice(-limits.ips) };
    }
  }
  const allPorts = [...new Set([...a.ports, ...b.ports])].sort((x, y) => x - y);
  if (allPorts.length > limits.ports) cuts.add(`ports of ${b.key}`);
  return {
    key: b.key,
    target,
    ports: allPorts.slice(0, limits.ports),
    firstSeen: Math.min(a.firstSeen, b.firstSeen),
    lastSeen:
      hold && b.lastSeen - a.lastSeen <= limits.granularityMs
        ? a.lastSeen
        : Math.max(a.lastSeen, b.lastSeen),
  };
}

const TRUNCATED_MAX = 1024;

/**
 * The destinations of one object are kept within this many bytes (as JSON): etcd refuses
 * objects over 1.5 MiB, and 2,000 destinations of 64 IPv6 addresses would be 6 MB.
 */
export const DESTINATIONS_BYTES_MAX = 512 * 1024;

/** Whether a destination meets the CRD's limits (what the API server would refuse). */
export function fitsCrd(d: SeenDestination): boolean {
  const t = d.target;
  if (t.kind === "kubernetes") {
    return (
      t.name.length >= 1 &&
      t.name.length <= 253 &&
      t.namespace.length >= 1 &&
      t.namespace.length <= 63 &&
      (t.workloadKind ?? "").length <= 63 &&
      (t.service ?? "").length <= 63 &&
      d.ports.length <= 64
    );
  }
  return (
    (t.dnsName === undefined || (t.dnsName.length >= 1 && t.dnsName.length <= 253)) &&
    t.ips.length <= 64 &&
    t.ips.every((ip) => ip.length <= 45) &&
    d.ports.length <= 64
  );
}

function storedGaps(v: unknown): Gap[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((g) => {
    const o = obj(g);
    const from = time(o?.from);
    const to = time(o?.to);
    const why = typeof o?.why === "string" ? o.why.slice(0, REASON_MAX) : "";
    return from !== undefined && to !== undefined && from <= to ? [{ from, to, why }] : [];
  });
}

function coverageObject(c: Coverage, since: number | undefined): Obj {
  const at = since === undefined ? {} : { since: formatTimestamp(since) };
  return c.state === "full" ? { state: "full", ...at } : { state: "none", reason: c.reason, ...at };
}

/**
 * The coverage to store: this replica's, unless what is stored is a state that began later
 * (another replica heard a break end, or begin, that this one has not heard yet). A state
 * both agree on keeps its earlier start: a replica's later view of it is no change to write.
 * Starts are recorded with changes of state (DESIGN: coverage; ADR 10).
 */
function mergedCoverage(stored: Obj | undefined, local: WorkloadSnapshot | undefined) {
  const mine = local?.coverage;
  if (!mine) return stored;
  const storedSince = time(stored?.since);
  const since = local.coverageSince;
  if (stored?.state === mine.state) {
    // (One stored without a start keeps none: an upgrade is not a reason to rewrite it.)
    const earliest =
      storedSince === undefined || since === undefined ? storedSince : Math.min(since, storedSince);
    return coverageObject(mine, earliest);
  }
  if (storedSince !== undefined && (since === undefined || storedSince > since)) return stored;
  return coverageObject(mine, since);
}

const gapObject = (g: Gap): Obj => ({
  from: formatTimestamp(g.from),
  to: formatTimestamp(g.to),
  why: g.why,
});

export interface MergedStatus {
  /** The status to write: stored fields the collector does not own (declared) are kept. */
  readonly status: Obj;
  /** Whether anything but updatedAt differs from what is stored. */
  readonly changed: boolean;
  /** Local destinations left out because the CRD would refuse them. */
  readonly invalid: number;
}

/**
 * Merges a workload's snapshot into its stored status: destinations united by identity
 * (earliest firstSeen, latest lastSeen, IPs and ports united and bounded), the earliest
 * observingSince, the cuts of both. A stored lastSeen moves only by more than the granularity.
 */
export function mergeStatus(
  stored: unknown,
  local: WorkloadSnapshot | undefined,
  nowMs: number,
  limits: Limits = DEFAULT_LIMITS,
): MergedStatus {
  const s = obj(stored) ?? {};
  const cuts = new Set<string>(
    typeof s.truncated === "string" && s.truncated !== "" ? s.truncated.split("; ") : [],
  );
  const byKey = new Map<string, SeenDestination>();
  const storedList = Array.isArray(s.destinations) ? s.destinations : [];
  for (const v of storedList) {
    const d = storedDestination(v);
    if (!d) continue;
    const known = byKey.get(d.key);
    byKey.set(d.key, known ? mergeOne(known, d, limits, cuts) : d);
  }
  let invalid = 0;
  for (const d of local?.destinations ?? []) {
    if (!fitsCrd(d)) {
      invalid++;
      continue;
    }
    const known = byKey.get(d.key);
    byKey.set(d.key, known ? mergeOne(known, d, limits, cuts, true) : d);
  }
  for (const c of local?.truncated ?? []) cuts.add(c);
  // A Service stored as itself gives way to the workloads behind it, once any is known.
  for (const [key, d] of byKey) {
    if (d.target.kind !== "kubernetes" || !asItself(d.target)) continue;
    const prefix = serviceKeyPrefix(d.target);
    const behind = [...byKey.entries()].filter(([k]) => k !== key && k.startsWith(prefix));
    if (behind.length === 0) continue;
    byKey.delete(key);
    for (const [k, b] of behind) {
      byKey.set(k, {
        ...b,
        firstSeen: Math.min(b.firstSeen, d.firstSeen),
        lastSeen: Math.max(b.lastSeen, d.lastSeen),
      });
    }
  }
  let list = [...byKey.values()];
  if (list.length > limits.destinations) {
    list = list.sort((a, b) => b.lastSeen - a.lastSeen).slice(0, limits.destinations);
    cuts.add("destinations");
  }
  // Bounded by bytes too: the most recently seen are kept within DESTINATIONS_BYTES_MAX.
  let destinations = list.map(destinationObject);
  let bytes = 0;
  for (const d of destinations) bytes += JSON.stringify(d).length + 1;
  if (bytes > DESTINATIONS_BYTES_MAX) {
    const order = list.map((d, i) => ({ d, i })).sort((a, b) => b.d.lastSeen - a.d.lastSeen);
    const keep: typeof list = [];
    let used = 0;
    for (const { d, i } of order) {
      const size = JSON.stringify(destinations[i]).length + 1;
      if (used + size > DESTINATIONS_BYTES_MAX) continue;
      used += size;
      keep.push(d);
    }
    list = keep;
    cuts.add(`destinations (over ${DESTINATIONS_BYTES_MAX / 1024} KiB)`);
  }
  list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  destinations = list.map(destinationObject);

  const since = [time(s.observingSince), local?.observingSince].filter(
    (t): t is number => t !== undefined,
  );
  const gaps = mergeGaps(storedGaps(s.gaps), local?.gaps ?? []);
  const observing = observableSince(since.length > 0 ? Math.min(...since) : undefined, gaps);
  const coverage = mergedCoverage(obj(s.coverage), local);
  let truncated = [...cuts].sort().join("; ");
  if (truncated.length > TRUNCATED_MAX) truncated = `${truncated.slice(0, TRUNCATED_MAX - 1)}…`;

  const core: Obj = {
    ...(observing !== undefined ? { observingSince: formatTimestamp(observing) } : {}),
    ...(coverage ? { coverage } : {}),
    ...(gaps.length > 0 ? { gaps: gaps.map(gapObject) } : {}),
    ...(truncated !== "" ? { truncated } : {}),
    destinations,
  };
  const before: Obj = {
    ...(s.observingSince !== undefined ? { observingSince: s.observingSince } : {}),
    ...(s.coverage !== undefined ? { coverage: s.coverage } : {}),
    ...(s.gaps !== undefined ? { gaps: s.gaps } : {}),
    ...(s.truncated !== undefined ? { truncated: s.truncated } : {}),
    destinations: storedList,
  };
  // The API server returns objects with their keys sorted: compare by content, not key order.
  const changed = !sameContent(core, before);
  const {
    observingSince: _o,
    coverage: _c,
    gaps: _g,
    truncated: _t,
    destinations: _d,
    updatedAt: _u,
    ...rest
  } = s;
  return {
    status: {
      ...rest,
      ...core,
      updatedAt: changed || s.updatedAt === undefined ? formatTimestamp(nowMs) : s.updatedAt,
    },
    changed,
    invalid,
  };
}
