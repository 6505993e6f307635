import type { Coverage, Gap } from "../observed-egress.js";
import type { ServiceIndex } from "./attribute.js";
import type { PodIpIndex, PodRecord } from "./pods.js";

/**
 * Coverage (DESIGN, "Silence is evidence only where it was heard"): which DNS servers a
 * workload's pods ask, whether each of them is heard (has a dnstap session to a collector
 * replica), and, over time, the workload's breaks: one longer than BREAK_MS restarts its
 * observable period and is kept as a gap. Pure: pods, servers and the heard addresses in,
 * decisions out.
 */

/** A break in observation longer than this restarts `observingSince`. */
export const BREAK_MS = 120_000;
/** Gaps kept per workload (the most recent). */
export const GAPS_MAX = 10;
/** A reason or a gap's why is cut to this (the CRD's limit). */
export const REASON_MAX = 1024;

export type { Coverage, Gap };

export const FULL: Coverage = Object.freeze({ state: "full" });

/** A DNS server the collector must hear: a cluster DNS pod, or a node's local cache. */
export interface DnsServer {
  /** namespace/name of its pod. */
  readonly key: string;
  readonly ips: readonly string[];
}

/** The DNS servers pods ask, as the informers know them now. */
export interface DnsServers {
  /** The cluster DNS Service, namespace/name (for messages). */
  readonly service: string;
  /** Its cluster IPs (what a ClusterFirst pod's resolv.conf names). */
  readonly serviceIps: readonly string[];
  /** The running pods behind it. */
  readonly cluster: readonly DnsServer[];
  /** NodeLocal DNSCache pods, by node name. */
  readonly nodeLocal: ReadonlyMap<string, DnsServer>;
}

/**
 * The DNS servers pods ask, from the indexes: the ready endpoints of the cluster DNS Service
 * (a CoreDNS pod that serves nobody need not be heard; without EndpointSlices, the pods its
 * selector matches), each once, in name order; and NodeLocal DNSCache pods by node.
 */
export function dnsServersOf(
  services: ServiceIndex,
  pods: PodIpIndex,
  svc: { readonly namespace: string; readonly name: string },
  local?: { readonly namespace: string; readonly selector: Readonly<Record<string, string>> },
): DnsServers {
  const service = services.service(svc.namespace, svc.name);
  const byKey = new Map<string, DnsServer>();
  const add = (p: PodRecord) =>
    byKey.set(`${p.namespace}/${p.name}`, { key: `${p.namespace}/${p.name}`, ips: p.ips });
  let sliced = false;
  for (const slice of services.slicesOf(svc.namespace, svc.name)) {
    sliced = true;
    for (const ref of slice.pods) {
      const p = ref.ready === false ? undefined : pods.byName(ref.namespace, ref.name);
      if (p && p.endMs === undefined) add(p);
    }
  }
  if (!sliced && service) for (const p of pods.matching(svc.namespace, service.selector)) add(p);
  const cluster = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const nodeLocal = new Map<string, DnsServer>();
  if (local) {
    for (const p of pods.matching(local.namespace, local.selector)) {
      if (p.node !== undefined)
        nodeLocal.set(p.node, { key: `${p.namespace}/${p.name}`, ips: p.ips });
    }
  }
  return {
    service: `${svc.namespace}/${svc.name}`,
    serviceIps: service?.clusterIps ?? [],
    cluster,
    nodeLocal,
  };
}

/** Whether a workload is heard now; when it is not, why, and whether it can ever be. */
export type Hearing =
  | { readonly heard: true }
  | { readonly heard: false; readonly why: string; readonly structural: boolean };

const HEARD: Hearing = Object.freeze({ heard: true });

/** A pod's lookups cannot reach a server that reports, whatever runs: why. */
function structuralReason(pod: PodRecord, dns: DnsServers): string | undefined {
  if (pod.hostNetwork) {
    return pod.dnsPolicy === "ClusterFirstWithHostNet"
      ? "pods use the host network: their lookups come from the node's address and cannot be told apart"
      : `pods use the host network with dnsPolicy ${pod.dnsPolicy}: their lookups do not reach the cluster DNS`;
  }
  if (pod.dnsPolicy === "Default") return "pods use dnsPolicy Default";
  const local = pod.node !== undefined ? dns.nodeLocal.get(pod.node) : undefined;
  // NodeLocal DNSCache listens on a link-local address (169.254.20.10) as well as its node's.
  const isCluster = (ip: string) =>
    dns.serviceIps.includes(ip) ||
    (local !== undefined && (local.ips.includes(ip) || ip.startsWith("169.254.")));
  if (pod.dnsPolicy === "None") {
    const asks = pod.nameservers;
    if (!asks.some(isCluster)) {
      return `pods use dnsPolicy None with nameservers ${asks.join(", ") || "(none)"}, not the cluster DNS`;
    }
  }
  // dnsConfig.nameservers beside the cluster DNS (added to it under ClusterFirst): resolvers
  // that rotate or fall back ask them too, and those answers are not heard.
  const others = pod.nameservers.filter((ip) => !isCluster(ip));
  if (others.length > 0) {
    return `pods also ask nameservers ${others.join(", ")}`;
  }
  return undefined;
}

/**
 * The servers a pod's lookups reach: its node's local cache where one runs (it answers for
 * the cluster DNS address), else any of the cluster DNS pods.
 */
function serversOf(pod: PodRecord, dns: DnsServers): readonly DnsServer[] {
  const local = pod.node === undefined ? undefined : dns.nodeLocal.get(pod.node);
  return local ? [local] : dns.cluster;
}

/** Whether a workload's running pods are heard: every server on each one's path reports. */
export function hearing(
  pods: Iterable<PodRecord>,
  dns: DnsServers,
  heard: ReadonlySet<string>,
): Hearing {
  const checked = new Set<DnsServer | readonly DnsServer[]>();
  for (const pod of pods) {
    const structural = structuralReason(pod, dns);
    if (structural) return { heard: false, why: structural, structural: true };
    const servers = serversOf(pod, dns);
    if (checked.has(servers)) continue;
    checked.add(servers);
    if (servers.length === 0) {
      return {
        heard: false,
        why: `no cluster DNS server is known (Service ${dns.service} has no running pods)`,
        structural: false,
      };
    }
    for (const s of servers) {
      if (!s.ips.some((ip) => heard.has(ip))) {
        return { heard: false, why: `no dnstap session from ${s.key}`, structural: false };
      }
    }
  }
  return HEARD;
}

/** The DNS servers nobody hears (for the Lease: it is renewed only while this is empty). */
export function unheardServers(dns: DnsServers, heard: ReadonlySet<string>): string[] {
  const all = [...dns.cluster, ...dns.nodeLocal.values()];
  return all
    .filter((s) => !s.ips.some((ip) => heard.has(ip)))
    .map((s) => s.key)
    .sort();
}

/** What the collector remembers of a workload between evaluations. */
export interface CoverageRecord {
  readonly coverage: Coverage;
  /**
   * When the coverage's state began: for `none`, the break's start; for `full`, when the pods
   * were heard (again). Replicas judge from what each has heard; of two states, the one that
   * began later is the newer news (a replica that has not heard the end of a break yet does
   * not write its `none` over another's `full`).
   */
  readonly since?: number;
  /** When the current break began, and why (the first reason seen). */
  readonly breakFrom?: number;
  readonly breakWhy?: string;
}

export interface CoverageStep {
  readonly record: CoverageRecord;
  /** A break that just ended and was long enough to count. */
  readonly gap?: Gap;
  /** Whether `coverage` differs from the previous record's. */
  readonly changed: boolean;
}

const cut = (s: string) => (s.length > REASON_MAX ? `${s.slice(0, REASON_MAX - 1)}…` : s);

/**
 * One evaluation of a workload at `now`. A break is a gap only once it lasted longer than
 * BREAK_MS; coverage turns `none` then (at once when no server could ever hear the pods), and
 * `full` again when the pods are heard.
 */
export function stepCoverage(
  prev: CoverageRecord | undefined,
  h: Hearing,
  now: number,
): CoverageStep {
  const before = prev?.coverage ?? FULL;
  // A first evaluation is news: what is stored may say otherwise (written before a restart).
  const first = prev === undefined;
  if (h.heard) {
    const from = prev?.breakFrom;
    const gap =
      from !== undefined && now - from > BREAK_MS
        ? { from, to: now, why: cut(prev?.breakWhy ?? "not heard") }
        : undefined;
    const since = before.state === "full" && prev?.since !== undefined ? prev.since : now;
    return {
      record: { coverage: FULL, since },
      ...(gap ? { gap } : {}),
      changed: first || before.state !== "full",
    };
  }
  const breakFrom = prev?.breakFrom ?? now;
  const breakWhy = prev?.breakWhy ?? h.why;
  const long = h.structural || now - breakFrom > BREAK_MS;
  const coverage: Coverage = long ? { state: "none", reason: cut(h.why) } : before;
  const changed =
    first ||
    coverage.state !== before.state ||
    (coverage.state === "none" && before.state === "none" && coverage.reason !== before.reason);
  const since = coverage.state === "none" ? breakFrom : (prev?.since ?? now);
  return { record: { coverage, since, breakFrom, breakWhy }, changed };
}

/**
 * Gaps united: overlapping gaps for the same reason are one (replicas see the same break, each
 * at its own evaluation times), the most recent GAPS_MAX kept, oldest first.
 */
export function mergeGaps(a: readonly Gap[], b: readonly Gap[]): Gap[] {
  const sorted = [...a, ...b].sort((x, y) => x.from - y.from || x.to - y.to);
  const out: Gap[] = [];
  for (const g of sorted) {
    let at = -1;
    for (let i = out.length - 1; i >= 0 && at < 0; i--) {
      const o = out[i] as Gap;
      if (o.why === g.why && g.from <= o.to) at = i;
    }
    const same = out[at];
    if (same) out[at] = { ...same, to: Math.max(same.to, g.to) };
    else out.push(g);
  }
  return out.sort((x, y) => x.to - y.to || x.from - y.from).slice(-GAPS_MAX);
}

/**
 * The start of the current observable period: the earliest start known, unless a gap ended
 * after it.
 */
export function observableSince(
  since: number | undefined,
  gaps: readonly Gap[],
): number | undefined {
  const lastGap = gaps.length > 0 ? Math.max(...gaps.map((g) => g.to)) : undefined;
  if (since === undefined) return lastGap;
  return lastGap === undefined ? since : Math.max(since, lastGap);
}
