import { concatAll } from "./concat.js";
import { belowSuffix, isWildcard, wildcardSuffix } from "./domain.js";
import { formatDuration, formatTimestamp } from "./duration.js";
import {
  canonicalIp,
  everyIpText,
  firstIpText,
  hasIpText,
  internetWith,
  ipCount,
  ipTexts,
} from "./held.js";
import type { Source } from "./errors.js";
import { formatIp, networkContains } from "./ip.js";
import type { Destination, Gap, InternetDestination, ObservedWorkload } from "./observed-egress.js";
import {
  itemKey,
  itemTarget,
  qualifiedName,
  type DeclaredItem,
  type DomainItem,
  type InClusterItem,
  type IpItem,
  type TargetV2,
} from "./targets.js";

/**
 * The verdicts of DESIGN's table, for one workload: every declared item gets one
 * verdict (matched, unnecessary, unverified or n/a) and every recent observed
 * destination (or port) that nothing covers is a `missing` finding.
 */

export const VERDICTS = ["missing", "unnecessary", "unverified", "matched", "n/a"] as const;
export type Verdict = (typeof VERDICTS)[number];
const RANK = Object.fromEntries(VERDICTS.map((v, i) => [v, i])) as Record<Verdict, number>;

/**
 * Stable codes for why a finding has its verdict, beside the reason's text (which may be
 * reworded): what scripts and dashboards match on.
 */
export const REASON_CODES = [
  "DeclaredAndUsed",
  "ObservedNotDeclared",
  "PortNotDeclared",
  "RemovedByChange",
  "AddedByChange",
  "NotUsedInWindow",
  "CollectorNotListening",
  "WorkloadNeverObserved",
  "NotObservable",
  "ObservableSinceGap",
  "ObservingSinceUnknown",
  "ObservedLessThanWindow",
  "DeclaredSinceUnknown",
  "DeclaredLessThanWindow",
  "ObservationsTruncated",
  "NotNetworkEgress",
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface Finding {
  readonly verdict: Verdict;
  readonly code: ReasonCode;
  /** v2beta1 target form, namespaces explicit: a `missing` one can be pasted as is. */
  readonly target: TargetV2;
  readonly reason: string;
  /** Where the declared item is written (absent for `missing`). */
  readonly source?: Source;
  /** The declared item judged (absent for `missing`). */
  readonly item?: DeclaredItem;
  /** A port outside the declared ports: the declared item whose ports would take it. */
  readonly widens?: DeclaredItem;
  readonly lastSeen?: number;
}

/** Whether anybody is listening: silence only counts while the collector reports. */
export type Listening =
  | { readonly state: "snapshot" }
  | { readonly state: "live" }
  | { readonly state: "stopped"; readonly since?: number; readonly why?: string };

export interface JudgeOptions {
  readonly now: number;
  readonly windowMs: number;
  readonly listening: Listening;
}

function maxDefined(a: number | undefined, b: number): number {
  return a === undefined || b > a ? b : a;
}

/** Internet destinations are judged IP by IP when they have no DNS name. */
function needsSplit(d: Destination): boolean {
  return d.kind === "internet" && d.dnsName === undefined && ipCount(d) > 1;
}

function splitIpOnly(d: Destination): readonly Destination[] {
  if (!needsSplit(d) || d.kind !== "internet") return [d];
  return d.ips.map((ip) => internetWith(d, { ips: [ip] }));
}

/** Most keys have one item: held as the item, an array only past one. */
type OneOrMore<V> = V | V[];

function addTo<K, V extends object>(map: Map<K, OneOrMore<V>>, key: K, value: V): void {
  const known = map.get(key);
  if (known === undefined) map.set(key, value);
  else if (Array.isArray(known)) known.push(value);
  else map.set(key, [known, value]);
}

/** The names an address answered for, with one more (each once, in the order met). */
function withName(names: OneOrMore<string> | undefined, name: string): OneOrMore<string> {
  if (names === undefined) return name;
  if (typeof names === "string") return names === name ? names : [names, name];
  if (!names.includes(name)) names.push(name);
  return names;
}

/** Up to this many destinations, the names of an address are found by a scan, not an index. */
const SCANNED_DESTINATIONS = 64;

class Coverage {
  /** Declared domains by name ("api.example.com"); wildcards are kept apart. */
  private readonly byDomain = new Map<string, OneOrMore<DomainItem>>();
  /** Declared wildcards with the suffix they cover ("*.example.com" → ".example.com"). */
  private readonly wildcards: { readonly suffix: string; readonly item: DomainItem }[] = [];
  /** Declared single addresses by their canonical text; CIDRs are scanned. */
  private readonly hostIps = new Map<string, OneOrMore<IpItem>>();
  private readonly rangeIps: IpItem[] = [];
  private readonly inCluster: InClusterItem[] = [];
  /** IP → the DNS names that resolved to it for this workload (any time), built when needed. */
  private namesOf: Map<string, OneOrMore<string>> | undefined;

  constructor(
    items: readonly DeclaredItem[],
    private readonly destinations: readonly Destination[],
  ) {
    for (const item of items) {
      if (item.kind === "domain") {
        if (isWildcard(item.domain)) {
          this.wildcards.push({ suffix: wildcardSuffix(item.domain), item });
        } else addTo(this.byDomain, item.domain, item);
      } else if (item.kind === "ip") {
        if (item.network.host !== undefined) addTo(this.hostIps, item.network.host, item);
        else this.rangeIps.push(item);
      } else if (item.kind === "in-cluster") this.inCluster.push(item);
    }
  }

  /** The names an IP was resolved from (only a declared domain can cover an IP through them). */
  private namesFor(ip: string): string | readonly string[] | undefined {
    if (this.byDomain.size === 0 && this.wildcards.length === 0) return undefined;
    // A workload's tens of destinations are scanned; an index of every address would cost
    // more than the scans it saves (each review judges one workload).
    if (this.destinations.length <= SCANNED_DESTINATIONS) {
      let names: OneOrMore<string> | undefined;
      for (const d of this.destinations) {
        if (d.kind === "internet" && d.dnsName !== undefined && hasIpText(d, ip)) {
          names = withName(names, d.dnsName);
        }
      }
      return names;
    }
    if (!this.namesOf) {
      // Most addresses answer for one name: held as the name, an array only past one.
      const namesOf = new Map<string, OneOrMore<string>>();
      let name = "";
      const add = (address: string): boolean => {
        namesOf.set(address, withName(namesOf.get(address), name));
        return true;
      };
      for (const d of this.destinations) {
        if (d.kind !== "internet" || d.dnsName === undefined) continue;
        name = d.dnsName;
        everyIpText(d, add);
      }
      this.namesOf = namesOf;
    }
    return this.namesOf.get(ip);
  }

  /** The declared items that cover a destination (empty: not covered). Ports play no part. */
  covering(d: Destination): readonly DeclaredItem[] {
    if (d.kind === "kubernetes") {
      let out: Items;
      for (const item of this.inCluster) {
        const hit =
          item.namespace === d.namespace &&
          (item.targetKind === "Service" || item.form === "service"
            ? item.name === d.service
            : (item.name === d.name || item.name === d.service) &&
              (item.targetKind === undefined || item.targetKind === d.workloadKind));
        if (hit) out = withItem(out, item);
      }
      return out ?? NONE;
    }
    return (
      (d.dnsName !== undefined ? this.coveringNamed(d, d.dnsName) : this.coveringIp(d)) ?? NONE
    );
  }

  /** The declared domains that cover a name: the same name, and wildcards of every parent. */
  private addDomainsCovering(name: string, out: Items): Items {
    out = withAll(out, this.byDomain.get(name));
    for (const w of this.wildcards) if (belowSuffix(name, w.suffix)) out = withItem(out, w.item);
    return out;
  }

  /** The declared IPs and CIDRs that contain an address (its canonical text). */
  private addIpsContaining(ip: string, out: Items): Items {
    out = withAll(out, this.hostIps.get(ip));
    if (this.rangeIps.length === 0) return out;
    const address = canonicalIp(ip);
    for (const item of this.rangeIps) {
      if (networkContains(item.network, address)) out = withItem(out, item);
    }
    return out;
  }

  /** Whether a declared IP or CIDR contains an address (its canonical text). */
  private anyIpContaining(ip: string): boolean {
    if (this.hostIps.has(ip)) return true;
    if (this.rangeIps.length === 0) return false;
    const address = canonicalIp(ip);
    for (const item of this.rangeIps) if (networkContains(item.network, address)) return true;
    return false;
  }

  private coveringNamed(d: InternetDestination, name: string): Items {
    const out = this.addDomainsCovering(name, undefined);
    // Declared IPs cover a named destination only when together they contain every IP of it.
    if (this.hostIps.size === 0 && this.rangeIps.length === 0) return out;
    // Most named destinations have a first address that no declared IP contains: settled here.
    const first = firstIpText(d);
    if (first === undefined || !this.anyIpContaining(first)) return out;
    let used: Items;
    const contained = everyIpText(d, (ip) => {
      const before = used?.length ?? 0;
      used = this.addIpsContaining(ip, used);
      return (used?.length ?? 0) > before;
    });
    return contained && used !== undefined ? withDistinct(out, used) : out;
  }

  private coveringIp(d: InternetDestination): Items {
    const ip = firstIpText(d);
    if (ip === undefined) return undefined;
    const out = this.addIpsContaining(ip, undefined);
    const names = this.namesFor(ip);
    if (typeof names === "string") return this.addDomainsCovering(names, out);
    if (!names) return out;
    let viaNames: Items;
    for (const name of names) viaNames = this.addDomainsCovering(name, viaNames);
    return viaNames === undefined ? out : withDistinct(out, viaNames);
  }
}

/**
 * Covering items while they are gathered: a list is made with its first item (most destinations
 * have one, and an empty list grown by a push reserves room for seventeen).
 */
type Items = DeclaredItem[] | undefined;

// Not frozen: a frozen array would make the loops over these lists slower (another elements kind).
const NONE: readonly DeclaredItem[] = [];

function withItem(out: Items, item: DeclaredItem): DeclaredItem[] {
  if (out === undefined) return [item];
  out.push(item);
  return out;
}

/** `out` with the items a lookup found (none, one, or more). */
function withAll(out: Items, found: OneOrMore<DeclaredItem> | undefined): Items {
  if (Array.isArray(found)) for (const item of found) out = withItem(out, item);
  else if (found !== undefined) out = withItem(out, found);
  return out;
}

/** Whether one of the items declares this port. */
function declaresPort(items: readonly DeclaredItem[], port: number): boolean {
  for (const item of items) if ("ports" in item && item.ports.includes(port)) return true;
  return false;
}

/** Adds items to `out`, each once (`items` may repeat one), in order. */
function withDistinct(out: Items, items: readonly DeclaredItem[]): Items {
  if (items.length === 1) return withItem(out, items[0] as DeclaredItem);
  for (const item of new Set(items)) out = withItem(out, item);
  return out;
}

/** Identifies a missing finding's target (the same destination, the same ports). */
export function missingKey(t: TargetV2): string {
  if ("internet" in t) {
    const i = t.internet;
    return `i|${(i.domains ?? []).join(",")}|${(i.ips ?? []).join(",")}|${(i.ports ?? []).join(",")}`;
  }
  if ("kubernetes" in t) return `k|${t.kubernetes.name}|${t.kubernetes.kind ?? ""}`;
  return JSON.stringify(t);
}

/** The v2beta1 target that would declare an observed destination (optionally only some ports). */
export function destinationTarget(d: Destination, ports: readonly number[] = d.ports): TargetV2 {
  const withPorts = ports.length > 0 ? { ports: [...ports] } : {};
  if (d.kind === "kubernetes") {
    const name = qualifiedName(d.name, d.namespace);
    if (d.workloadKind === "Service") return { service: { name } };
    return { kubernetes: d.workloadKind ? { name, kind: d.workloadKind } : { name } };
  }
  if (d.dnsName !== undefined) return { internet: { domains: [d.dnsName], ...withPorts } };
  return { internet: { ips: d.ips.map(formatIp), ...withPorts } };
}

export function destinationLabel(d: Destination): string {
  if (d.kind === "kubernetes") return `kubernetes ${qualifiedName(d.name, d.namespace)}`;
  return d.dnsName ?? d.ips.map((ip) => ip.text).join(", ");
}

function lastGap(observed: readonly ObservedWorkload[]): Gap | undefined {
  let last: Gap | undefined;
  for (const o of observed) for (const g of o.gaps) if (!last || g.to > last.to) last = g;
  return last;
}

function silenceReason(
  item: DeclaredItem,
  observed: readonly ObservedWorkload[],
  opts: JudgeOptions,
): { verdict: "unnecessary" | "unverified"; code: ReasonCode; reason: string } {
  const window = formatDuration(opts.windowMs);
  const horizon = opts.now - opts.windowMs;
  if (opts.listening.state === "stopped") {
    const { since, why } = opts.listening;
    return {
      verdict: "unverified",
      code: "CollectorNotListening",
      reason:
        since === undefined
          ? `not used, but ${why ?? "the collector is not reporting"}, so silence proves nothing`
          : `not used, but there are no observations since ${formatTimestamp(since)} (the collector stopped)`,
    };
  }
  if (observed.length === 0) {
    return {
      verdict: "unverified",
      code: "WorkloadNeverObserved",
      reason: "not used, but the workload has never been observed",
    };
  }
  for (const o of observed) {
    if (o.coverage?.state === "none") {
      return {
        verdict: "unverified",
        code: "NotObservable",
        reason: `not used, but ${o.coverage.reason}: egress cannot be observed`,
      };
    }
  }
  const since = observed.reduce<number | undefined>(
    (acc, o) =>
      o.observingSince === undefined
        ? acc
        : acc === undefined
          ? o.observingSince
          : Math.min(acc, o.observingSince),
    undefined,
  );
  if (since !== undefined && since > horizon) {
    const gap = lastGap(observed);
    if (gap && gap.to >= since) {
      return {
        verdict: "unverified",
        code: "ObservableSinceGap",
        reason:
          `not used, but observable only since ${formatTimestamp(since)}, after a gap: ` +
          `${gap.why} from ${formatTimestamp(gap.from)} to ${formatTimestamp(gap.to)}`,
      };
    }
  }
  if (since === undefined || since > horizon) {
    return {
      verdict: "unverified",
      code: since === undefined ? "ObservingSinceUnknown" : "ObservedLessThanWindow",
      reason:
        since === undefined
          ? "not used, but it is unknown since when the workload is observed"
          : `not used, but the workload is observed only since ${formatTimestamp(since)} (less than ${window})`,
    };
  }
  const key = itemKey(item);
  const declared = observed.reduce<number | undefined>((acc, o) => {
    const s = o.declaredSince.get(key);
    return s === undefined ? acc : acc === undefined ? s : Math.min(acc, s);
  }, undefined);
  if (declared === undefined) {
    return {
      verdict: "unverified",
      code: "DeclaredSinceUnknown",
      reason: "not used, but there is no record of when it was declared",
    };
  }
  if (declared > horizon) {
    return {
      verdict: "unverified",
      code: "DeclaredLessThanWindow",
      reason: `not used, but declared only since ${formatTimestamp(declared)} (less than ${window})`,
    };
  }
  // What the collector cut to fit the object may be what used it.
  const cut = observed.find((o) => o.truncated !== undefined)?.truncated;
  if (cut !== undefined) {
    return {
      verdict: "unverified",
      code: "ObservationsTruncated",
      reason: `not used, but the collector had to cut the workload's ObservedEgress (${cut}): what was cut is not known`,
    };
  }
  return {
    verdict: "unnecessary",
    code: "NotUsedInWindow",
    reason: `declared but not used in the last ${window}`,
  };
}

const CLOUD_REASON = "not network egress (cloud IAM or database permission): not judged";

/** Judges one workload: its declared items against what was observed of it. */
export function judgeWorkload(
  items: readonly DeclaredItem[],
  observed: readonly ObservedWorkload[],
  opts: JudgeOptions,
): Finding[] {
  const horizon = opts.now - opts.windowMs;
  const all = concatAll(observed.map((o) => o.destinations));
  const coverage = new Coverage(items, all);
  // Each used item's last use (in the window).
  const used = new Map<DeclaredItem, number>();
  // The same destination may be reported by several ObservedEgress objects: one finding each.
  const missing = new Map<string, Finding>();
  const addMissing = (
    target: TargetV2,
    code: ReasonCode,
    reason: string,
    lastSeen: number,
    widens?: DeclaredItem,
  ) => {
    const key = missingKey(target);
    const known = missing.get(key);
    if (!known || (known.lastSeen ?? 0) < lastSeen) {
      missing.set(
        key,
        widens
          ? { verdict: "missing", code, target, reason, lastSeen, widens }
          : { verdict: "missing", code, target, reason, lastSeen },
      );
    }
  };

  // Each destination's covering items, found once: the missing answers below read them again.
  const covers = new Array<readonly DeclaredItem[] | undefined>(all.length);
  const coveringAt = (i: number): readonly DeclaredItem[] =>
    (covers[i] ??= coverage.covering(all[i] as Destination));

  // The answers of recent names that nothing declares: an address among them is that name's,
  // so an IP-only sighting of it is part of the name's missing finding, not one of its own.
  // Made only when an address goes uncovered (rare: most reviews never need it).
  let missingAnswers: Map<string, InternetDestination> | undefined;
  const answeredBy = (ip: string): InternetDestination | undefined => {
    if (!missingAnswers) {
      missingAnswers = new Map();
      for (let i = 0; i < all.length; i++) {
        const d = all[i] as Destination;
        if (d.kind !== "internet" || d.dnsName === undefined || d.lastSeen < horizon) continue;
        if (coveringAt(i).length > 0) continue;
        for (const a of ipTexts(d)) missingAnswers.set(a, d);
      }
    }
    return missingAnswers.get(ip);
  };
  // `covering`: what covers `d` (ports and times play no part in it).
  const judge = (d: Destination, covering: readonly DeclaredItem[]) => {
    if (covering.length === 0) {
      const named =
        d.kind === "internet" && d.dnsName === undefined ? ipTexts(d).map(answeredBy) : [];
      if (named.length > 0 && named.every((n) => n !== undefined)) {
        // Counted with the name it answered for (its ports too): nothing covers that name.
        for (const n of named as InternetDestination[])
          judge(internetWith(n, { ports: d.ports, lastSeen: d.lastSeen }), []);
        return;
      }
      addMissing(
        destinationTarget(d),
        "ObservedNotDeclared",
        "observed but not declared",
        d.lastSeen,
      );
      return;
    }
    let anyPort = false;
    for (const item of covering) {
      const u = used.get(item);
      if (u === undefined || u < d.lastSeen) used.set(item, d.lastSeen);
      if ((item.kind !== "domain" && item.kind !== "ip") || item.ports.length === 0) anyPort = true;
    }
    if (anyPort) return;
    // Indexed: port lists are frozen and shared, and for-of over a frozen array allocates.
    for (let p = 0; p < d.ports.length; p++) {
      const port = d.ports[p] as number;
      if (declaresPort(covering, port)) continue;
      const allowed = new Set(covering.flatMap((item) => ("ports" in item ? item.ports : [])));
      const declaredPorts = [...allowed].sort((a, b) => a - b).join(", ");
      addMissing(
        destinationTarget(d, [port]),
        "PortNotDeclared",
        `port ${port} is outside the declared ports ${declaredPorts}`,
        d.lastSeen,
        covering.find((item) => "ports" in item && item.ports.length > 0),
      );
    }
  };
  for (let i = 0; i < all.length; i++) {
    const dest = all[i] as Destination;
    if (dest.lastSeen < horizon) continue;
    if (needsSplit(dest)) for (const d of splitIpOnly(dest)) judge(d, coverage.covering(d));
    else judge(dest, coveringAt(i));
  }

  // When was each unused item last used, if ever (outside the window)? One pass, when needed.
  let usedBefore: Map<DeclaredItem, number> | undefined;
  const lastUsedBefore = (item: DeclaredItem): number | undefined => {
    if (!usedBefore) {
      const before = new Map<DeclaredItem, number>();
      const add = (d: Destination) => {
        for (const c of coverage.covering(d)) before.set(c, maxDefined(before.get(c), d.lastSeen));
      };
      for (const dest of all) {
        if (dest.lastSeen >= horizon) continue;
        if (needsSplit(dest)) splitIpOnly(dest).forEach(add);
        else add(dest);
      }
      usedBefore = before;
    }
    return usedBefore.get(item);
  };

  const declared: Finding[] = items.map((item) => {
    const target = itemTarget(item);
    if (item.kind === "cloud")
      return {
        verdict: "n/a",
        code: "NotNetworkEgress",
        target,
        reason: CLOUD_REASON,
        source: item.source,
        item,
      };
    const u = used.get(item);
    if (u !== undefined) {
      return {
        verdict: "matched",
        code: "DeclaredAndUsed",
        target,
        reason: "declared and used",
        source: item.source,
        item,
        lastSeen: u,
      };
    }
    const lastSeen = lastUsedBefore(item);
    const { verdict, code, reason } = silenceReason(item, observed, opts);
    const seen =
      lastSeen === undefined ? "; never seen" : `; last seen ${formatTimestamp(lastSeen)}`;
    const base = { verdict, code, target, reason: reason + seen, source: item.source, item };
    return lastSeen === undefined ? base : { ...base, lastSeen };
  });

  return sortFindings([...missing.values(), ...declared]);
}

/** Findings in report order: by verdict (missing first), stable within one. In place. */
export function sortFindings(findings: Finding[]): Finding[] {
  // A stable bucket sort: a comparator sort of tens of findings cost a review 5% of its time.
  const buckets: Finding[][] = VERDICTS.map(() => []);
  for (const f of findings) (buckets[RANK[f.verdict]] as Finding[]).push(f);
  let i = 0;
  for (const bucket of buckets) for (const f of bucket) findings[i++] = f;
  return findings;
}
