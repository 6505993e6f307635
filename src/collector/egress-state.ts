import type { WorkloadIdentity } from "./pods.js";

/**
 * What the collector has seen, per workload, in memory: destinations with their IPs, ports
 * and first/last sighting. Every list is bounded (the ObservedEgress CRD's own limits), and a
 * cut is remembered so the object can say so. A workload is `dirty` when something material
 * changed since it was last published (DESIGN: a new destination, IP or port, or lastSeen
 * advanced by more than a granularity).
 */

export interface KubernetesTarget {
  readonly kind: "kubernetes";
  readonly name: string;
  readonly namespace: string;
  readonly workloadKind?: string;
  readonly service?: string;
}

export type ObservedTarget =
  | { readonly kind: "internet"; readonly dnsName?: string; readonly ips: readonly string[] }
  | KubernetesTarget;

/** A destination's identity: its IPs are kept apart, as they change. */
export type DestinationTarget =
  { readonly kind: "internet"; readonly dnsName?: string } | KubernetesTarget;

export interface Observation {
  readonly workload: WorkloadIdentity;
  readonly target: ObservedTarget;
  readonly port?: number;
  readonly timeMs: number;
}

export interface Limits {
  /** Destinations kept per workload (the CRD allows 2000). */
  readonly destinations: number;
  /** IPs kept per destination (the CRD allows 64); the most recently seen stay. */
  readonly ips: number;
  /** Ports kept per destination (the CRD allows 64). */
  readonly ports: number;
  /** lastSeen moving by less than this is not worth a write. */
  readonly granularityMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  destinations: 2000,
  ips: 64,
  ports: 64,
  granularityMs: 60_000,
};

export interface DestinationState {
  readonly key: string;
  readonly target: DestinationTarget;
  /** Oldest sighting first. */
  ips: string[];
  ports: number[];
  firstSeen: number;
  lastSeen: number;
  /** lastSeen as last published (0: never). */
  publishedLastSeen: number;
}

export interface WorkloadState {
  readonly key: string;
  readonly identity: WorkloadIdentity;
  observingSince?: number;
  readonly destinations: Map<string, DestinationState>;
  /** What was cut, by list ("destinations", "ips of api.example.com", …). */
  readonly truncated: Set<string>;
  dirty: boolean;
}

export function workloadKey(w: WorkloadIdentity): string {
  return `${w.namespace}/${w.name}`;
}

export function destinationKey(t: ObservedTarget): string {
  if (t.kind === "kubernetes") {
    return `k8s:${t.namespace}/${t.name}/${t.workloadKind ?? ""}/${t.service ?? ""}`;
  }
  return t.dnsName !== undefined ? `dns:${t.dnsName}` : `ip:${t.ips[0] ?? ""}`;
}

function targetWithoutIps(t: ObservedTarget): DestinationTarget {
  if (t.kind === "kubernetes") return t;
  return t.dnsName !== undefined ? { kind: "internet", dnsName: t.dnsName } : { kind: "internet" };
}

export class EgressState {
  private readonly workloads = new Map<string, WorkloadState>();

  constructor(readonly limits: Limits = DEFAULT_LIMITS) {}

  get size(): number {
    return this.workloads.size;
  }

  /** Distinct (workload, destination) pairs held. */
  destinationCount(): number {
    let n = 0;
    for (const w of this.workloads.values()) n += w.destinations.size;
    return n;
  }

  workload(identity: WorkloadIdentity): WorkloadState {
    const key = workloadKey(identity);
    let w = this.workloads.get(key);
    if (!w) {
      w = { key, identity, destinations: new Map(), truncated: new Set(), dirty: false };
      this.workloads.set(key, w);
    }
    return w;
  }

  get(key: string): WorkloadState | undefined {
    return this.workloads.get(key);
  }

  /** The collector watches this workload (it has pods) since `sinceMs`. */
  watch(identity: WorkloadIdentity, sinceMs: number): void {
    const w = this.workload(identity);
    if (w.observingSince === undefined || sinceMs < w.observingSince) {
      w.observingSince = sinceMs;
      w.dirty = true;
    }
  }

  /** Records one observation; true when it made the workload dirty. */
  record(o: Observation): boolean {
    const w = this.workload(o.workload);
    const key = destinationKey(o.target);
    let d = w.destinations.get(key);
    let material = false;
    if (!d) {
      if (w.destinations.size >= this.limits.destinations) this.evictOldest(w);
      d = {
        key,
        target: targetWithoutIps(o.target),
        ips: [],
        ports: [],
        firstSeen: o.timeMs,
        lastSeen: o.timeMs,
        publishedLastSeen: 0,
      };
      w.destinations.set(key, d);
      material = true;
    } else {
      if (o.timeMs < d.firstSeen) d.firstSeen = o.timeMs;
      if (o.timeMs > d.lastSeen) d.lastSeen = o.timeMs;
      if (d.lastSeen - d.publishedLastSeen > this.limits.granularityMs) material = true;
    }
    if (o.target.kind === "internet") {
      for (const ip of o.target.ips) if (this.addIp(w, d, ip)) material = true;
    }
    if (o.port !== undefined && this.addPort(w, d, o.port)) material = true;
    if (material) w.dirty = true;
    return material;
  }

  /**
   * A connection from a workload to an IP on a port (the sniffer's TCP reports): the port
   * goes to every named destination that resolved to that IP for this workload; when none
   * did, to the bare IP. Returns whether anything material changed.
   */
  recordConnection(workload: WorkloadIdentity, ip: string, port: number, timeMs: number): boolean {
    const w = this.workload(workload);
    let named = false;
    let material = false;
    for (const d of w.destinations.values()) {
      if (d.target.kind !== "internet" || d.target.dnsName === undefined || !d.ips.includes(ip)) {
        continue;
      }
      named = true;
      if (this.addPort(w, d, port)) material = true;
      if (timeMs > d.lastSeen) d.lastSeen = timeMs;
      if (d.lastSeen - d.publishedLastSeen > this.limits.granularityMs) material = true;
    }
    if (!named) {
      return this.record({ workload, target: { kind: "internet", ips: [ip] }, port, timeMs });
    }
    if (material) w.dirty = true;
    return material;
  }

  private addIp(w: WorkloadState, d: DestinationState, ip: string): boolean {
    const at = d.ips.indexOf(ip);
    if (at >= 0) {
      // Most recent last: the least recently seen is cut first.
      if (at !== d.ips.length - 1) {
        d.ips.splice(at, 1);
        d.ips.push(ip);
      }
      return false;
    }
    if (d.ips.length >= this.limits.ips) {
      d.ips.shift();
      w.truncated.add(`ips of ${d.target.kind === "internet" ? (d.target.dnsName ?? ip) : d.key}`);
    }
    d.ips.push(ip);
    return true;
  }

  private addPort(w: WorkloadState, d: DestinationState, port: number): boolean {
    if (d.ports.includes(port)) return false;
    if (d.ports.length >= this.limits.ports) {
      w.truncated.add(`ports of ${d.key}`);
      return false;
    }
    d.ports.push(port);
    d.ports.sort((a, b) => a - b);
    return true;
  }

  private evictOldest(w: WorkloadState): void {
    let oldest: DestinationState | undefined;
    for (const d of w.destinations.values()) {
      if (!oldest || d.lastSeen < oldest.lastSeen) oldest = d;
    }
    if (oldest) w.destinations.delete(oldest.key);
    w.truncated.add("destinations");
  }

  /**
   * The dirty workloads as plain snapshots, marked clean and published: write them, and
   * `markDirty` the ones whose write failed.
   */
  takeDirty(): WorkloadSnapshot[] {
    const out: WorkloadSnapshot[] = [];
    for (const w of this.workloads.values()) {
      if (!w.dirty) continue;
      w.dirty = false;
      out.push(snapshot(w));
      for (const d of w.destinations.values()) d.publishedLastSeen = d.lastSeen;
    }
    return out;
  }

  markDirty(key: string): void {
    const w = this.workloads.get(key);
    if (w) w.dirty = true;
  }
}

/** A workload's state as plain, immutable data. */
export interface WorkloadSnapshot {
  readonly key: string;
  readonly identity: WorkloadIdentity;
  readonly observingSince?: number;
  readonly destinations: readonly SeenDestination[];
  readonly truncated: readonly string[];
}

export interface SeenDestination {
  readonly key: string;
  readonly target: ObservedTarget;
  readonly ports: readonly number[];
  readonly firstSeen: number;
  readonly lastSeen: number;
}

export function snapshot(w: WorkloadState): WorkloadSnapshot {
  const destinations: SeenDestination[] = [];
  for (const d of w.destinations.values()) {
    destinations.push({
      key: d.key,
      target: d.target.kind === "internet" ? { ...d.target, ips: [...d.ips] } : d.target,
      ports: [...d.ports],
      firstSeen: d.firstSeen,
      lastSeen: d.lastSeen,
    });
  }
  return {
    key: w.key,
    identity: w.identity,
    ...(w.observingSince === undefined ? {} : { observingSince: w.observingSince }),
    destinations,
    truncated: [...w.truncated].sort(),
  };
}
