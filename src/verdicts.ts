import { wildcardsCovering } from "./domain.js";
import { formatDuration, formatTimestamp } from "./duration.js";
import type { Source } from "./errors.js";
import { formatIp, networkContains, type IpAddress } from "./ip.js";
import type { Destination, InternetDestination, ObservedWorkload } from "./observed-egress.js";
import {
  itemKey,
  itemTarget,
  qualifiedName,
  type DeclaredItem,
  type DomainItem,
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

export interface Finding {
  readonly verdict: Verdict;
  /** v2beta1 target form, namespaces explicit: a `missing` one can be pasted as is. */
  readonly target: TargetV2;
  readonly reason: string;
  /** Where the declared item is written (absent for `missing`). */
  readonly source?: Source;
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

interface Usage {
  lastSeen: number;
}

function maxDefined(a: number | undefined, b: number): number {
  return a === undefined || b > a ? b : a;
}

/** Internet destinations are judged IP by IP when they have no DNS name. */
function splitIpOnly(d: Destination): Destination[] {
  if (d.kind !== "internet" || d.dnsName !== undefined || d.ips.length <= 1) return [d];
  return d.ips.map((ip, i) => ({ ...d, ips: [ip], ipTexts: [d.ipTexts[i] as string] }));
}

function ipKey(ip: IpAddress): string {
  return `${ip.family}:${ip.value.toString(16)}`;
}

class Coverage {
  /** Declared domains by name ("api.example.com", "*.example.com"). */
  private readonly byDomain = new Map<string, DomainItem[]>();
  private readonly ips: IpItem[] = [];
  private readonly inCluster: DeclaredItem[] = [];
  /** IP → the DNS names that resolved to it for this workload (any time). */
  private readonly namesOf = new Map<string, Set<string>>();

  constructor(items: readonly DeclaredItem[], destinations: readonly Destination[]) {
    for (const item of items) {
      if (item.kind === "domain") {
        const list = this.byDomain.get(item.domain);
        if (list) list.push(item);
        else this.byDomain.set(item.domain, [item]);
      } else if (item.kind === "ip") this.ips.push(item);
      else if (item.kind === "in-cluster") this.inCluster.push(item);
    }
    for (const d of destinations) {
      if (d.kind !== "internet" || d.dnsName === undefined) continue;
      for (const ip of d.ips) {
        const key = ipKey(ip);
        let names = this.namesOf.get(key);
        if (!names) this.namesOf.set(key, (names = new Set()));
        names.add(d.dnsName);
      }
    }
  }

  /** The declared items that cover a destination (empty: not covered). */
  covering(d: Destination): DeclaredItem[] {
    if (d.kind === "kubernetes") {
      return this.inCluster.filter(
        (item) =>
          item.kind === "in-cluster" &&
          item.namespace === d.namespace &&
          (item.targetKind === "Service" || item.form === "service"
            ? item.name === d.service
            : (item.name === d.name || item.name === d.service) &&
              (item.targetKind === undefined || item.targetKind === d.workloadKind)),
      );
    }
    return d.dnsName !== undefined ? this.coveringNamed(d, d.dnsName) : this.coveringIp(d);
  }

  /** The declared domains that cover a name: the same name, and wildcards of every parent. */
  private domainsCovering(name: string): DomainItem[] {
    const out: DomainItem[] = [...(this.byDomain.get(name) ?? [])];
    for (const wildcard of wildcardsCovering(name)) {
      const hits = this.byDomain.get(wildcard);
      if (hits) out.push(...hits);
    }
    return out;
  }

  private coveringNamed(d: InternetDestination, name: string): DeclaredItem[] {
    const out: DeclaredItem[] = this.domainsCovering(name);
    // Declared IPs cover a named destination only when together they contain every IP of it.
    if (d.ips.length > 0 && this.ips.length > 0) {
      const used = new Set<IpItem>();
      const all = d.ips.every((ip) => {
        const hits = this.ips.filter((item) => networkContains(item.network, ip));
        hits.forEach((h) => used.add(h));
        return hits.length > 0;
      });
      if (all) out.push(...used);
    }
    return out;
  }

  private coveringIp(d: InternetDestination): DeclaredItem[] {
    const ip = d.ips[0];
    if (!ip) return [];
    const out: DeclaredItem[] = this.ips.filter((item) => networkContains(item.network, ip));
    const names = this.namesOf.get(ipKey(ip));
    if (names) {
      const hits = new Set<DomainItem>();
      for (const name of names) this.domainsCovering(name).forEach((item) => hits.add(item));
      out.push(...hits);
    }
    return out;
  }
}

function missingKey(t: TargetV2): string {
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
    return { kubernetes: d.workloadKind ? { name, kind: d.workloadKind } : { name } };
  }
  if (d.dnsName !== undefined) return { internet: { domains: [d.dnsName], ...withPorts } };
  return { internet: { ips: d.ips.map(formatIp), ...withPorts } };
}

export function destinationLabel(d: Destination): string {
  if (d.kind === "kubernetes") return `kubernetes ${qualifiedName(d.name, d.namespace)}`;
  return d.dnsName ?? d.ipTexts.join(", ");
}

function silenceReason(
  item: DeclaredItem,
  observed: readonly ObservedWorkload[],
  opts: JudgeOptions,
): { verdict: "unnecessary" | "unverified"; reason: string } {
  const window = formatDuration(opts.windowMs);
  const horizon = opts.now - opts.windowMs;
  if (opts.listening.state === "stopped") {
    const { since, why } = opts.listening;
    return {
      verdict: "unverified",
      reason:
        since === undefined
          ? `not used, but ${why ?? "the collector is not reporting"}, so silence proves nothing`
          : `not used, but there are no observations since ${formatTimestamp(since)} (the collector stopped)`,
    };
  }
  if (observed.length === 0) {
    return { verdict: "unverified", reason: "not used, but the workload has never been observed" };
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
  if (since === undefined || since > horizon) {
    return {
      verdict: "unverified",
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
      reason: "not used, but there is no record of when it was declared",
    };
  }
  if (declared > horizon) {
    return {
      verdict: "unverified",
      reason: `not used, but declared only since ${formatTimestamp(declared)} (less than ${window})`,
    };
  }
  return { verdict: "unnecessary", reason: `declared but not used in the last ${window}` };
}

const CLOUD_REASON = "not network egress (cloud IAM or database permission): not judged";

/** Judges one workload: its declared items against what was observed of it. */
export function judgeWorkload(
  items: readonly DeclaredItem[],
  observed: readonly ObservedWorkload[],
  opts: JudgeOptions,
): Finding[] {
  const horizon = opts.now - opts.windowMs;
  const all = observed.flatMap((o) => o.destinations);
  const coverage = new Coverage(items, all);
  const used = new Map<DeclaredItem, Usage>();
  // The same destination may be reported by several ObservedEgress objects: one finding each.
  const missing = new Map<string, Finding>();
  const addMissing = (target: TargetV2, reason: string, lastSeen: number) => {
    const key = missingKey(target);
    const known = missing.get(key);
    if (!known || (known.lastSeen ?? 0) < lastSeen) {
      missing.set(key, { verdict: "missing", target, reason, lastSeen });
    }
  };

  for (const dest of all) {
    if (dest.lastSeen < horizon) continue;
    for (const d of splitIpOnly(dest)) {
      const covering = coverage.covering(d);
      if (covering.length === 0) {
        addMissing(destinationTarget(d), "observed but not declared", d.lastSeen);
        continue;
      }
      for (const item of covering) {
        const u = used.get(item);
        if (u) u.lastSeen = Math.max(u.lastSeen, d.lastSeen);
        else used.set(item, { lastSeen: d.lastSeen });
      }
      const allowed = new Set<number>();
      let anyPort = false;
      for (const item of covering) {
        if (item.kind !== "domain" && item.kind !== "ip") anyPort = true;
        else if (item.ports.length === 0) anyPort = true;
        else item.ports.forEach((p) => allowed.add(p));
      }
      if (anyPort) continue;
      for (const port of d.ports) {
        if (allowed.has(port)) continue;
        const declaredPorts = [...allowed].sort((a, b) => a - b).join(", ");
        addMissing(
          destinationTarget(d, [port]),
          `port ${port} is outside the declared ports ${declaredPorts}`,
          d.lastSeen,
        );
      }
    }
  }

  const declared: Finding[] = items.map((item) => {
    const target = itemTarget(item);
    if (item.kind === "cloud")
      return { verdict: "n/a", target, reason: CLOUD_REASON, source: item.source };
    const u = used.get(item);
    if (u) {
      return {
        verdict: "matched",
        target,
        reason: "declared and used",
        source: item.source,
        lastSeen: u.lastSeen,
      };
    }
    // When was it last used, if ever (outside the window)?
    let lastSeen: number | undefined;
    for (const dest of all) {
      if (dest.lastSeen >= horizon) continue;
      for (const d of splitIpOnly(dest)) {
        if (coverage.covering(d).includes(item)) lastSeen = maxDefined(lastSeen, d.lastSeen);
      }
    }
    const { verdict, reason } = silenceReason(item, observed, opts);
    const seen =
      lastSeen === undefined ? "; never seen" : `; last seen ${formatTimestamp(lastSeen)}`;
    return {
      verdict,
      target,
      reason: reason + seen,
      source: item.source,
      ...(lastSeen === undefined ? {} : { lastSeen }),
    };
  });

  return [...missing.values(), ...declared].sort(
    (a, b) => VERDICTS.indexOf(a.verdict) - VERDICTS.indexOf(b.verdict),
  );
}
