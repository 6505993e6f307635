import { BoundedMap } from "../bounded-map.js";
import type { Coverage, Gap } from "../observed-egress.js";
import { mergeGaps } from "./coverage.js";
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
  | { readonly kind: "internet"; readonly dnsName: string; readonly ip?: undefined }
  /** An address seen without a name. */
  | { readonly kind: "internet"; readonly dnsName?: undefined; readonly ip: string }
  | KubernetesTarget;

export interface Observation {
  readonly workload: WorkloadIdentity;
  readonly target: ObservedTarget;
  readonly port?: number;
  readonly timeMs: number;
  /**
   * From a report (the sniffer), not from the DNS server: a new destination never makes room
   * by pushing out one the workload really reached; at the cap it is dropped (see `noRoom`).
   */
  readonly reported?: true;
}

export interface Limits {
  /** Destinations kept per workload (the CRD allows 2000). */
  readonly destinations: number;
  /** IPs kept per destination (the CRD allows 64); the most recently seen stay. */
  readonly ips: number;
  /** Ports kept per destination (the CRD allows 64). */
  readonly ports: number;
  /**
   * lastSeen moving by no more than this is not worth a write (--last-seen-granularity). With
   * steady egress, each workload is written about once per granularity: two requests each.
   */
  readonly granularityMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  destinations: 2000,
  ips: 64,
  ports: 64,
  granularityMs: 3_600_000,
};

/** Times are held as whole seconds since 2020: small integers, which V8 keeps unboxed. */
const EPOCH_S = 1_577_836_800;
const toSeconds = (ms: number) => Math.floor(ms / 1000) - EPOCH_S;
const toMs = (s: number) => (s + EPOCH_S) * 1000;
const NONE: readonly never[] = Object.freeze([]);

/**
 * One destination of one workload. A million of them must fit in memory: a class (one
 * shape), times as small integers, lists replaced rather than grown (exact size), and the
 * target shared by every workload that reached the same name.
 */
export class DestinationState {
  /** Oldest sighting first (see addIp). */
  ips: readonly string[] = NONE;
  ports: readonly number[] = NONE;
  /** Seconds since 2020 (see EPOCH_S). */
  first: number;
  last: number;
  /** `last` as last published (0: never). */
  published = 0;

  constructor(
    /** Shared by every workload that reached the same name (see targetOf). */
    public target: DestinationTarget,
    seconds: number,
  ) {
    this.first = seconds;
    this.last = seconds;
  }

  get key(): string {
    return destinationKey(this.target);
  }
}

export interface WorkloadState {
  readonly key: string;
  readonly identity: WorkloadIdentity;
  observingSince?: number;
  /** Coverage as last decided, and the gaps not yet known to be stored (see cover). */
  coverage?: Coverage;
  /** When that coverage's state began (see CoverageRecord.since). */
  coverageSince?: number;
  gaps?: Gap[];
  readonly destinations: Map<string, DestinationState>;
  /** What was cut, by list ("destinations", "ips of api.example.com", …). */
  readonly truncated: Set<string>;
  dirty: boolean;
  /** Forgotten (see forget): a new sighting starts a new state. */
  forgotten?: boolean;
  /** Destinations the API server refused to store (see refuse): not recorded again. */
  refused?: Set<string>;
}

/** Refused destinations remembered per workload. */
const REFUSED_MAX = 1000;

/** Named targets shared at most (past it, sharing starts over; nothing is lost). */
const SHARED_NAMES_MAX = 1_000_000;

export function workloadKey(w: WorkloadIdentity): string {
  return `${w.namespace}/${w.name}`;
}

/**
 * A destination's identity within its workload. A DNS name is its own key (no name has a
 * colon), so the common lookup builds no string.
 */
export function destinationKey(t: ObservedTarget | DestinationTarget): string {
  if (t.kind === "kubernetes") {
    // Reached through a Service: the Service is the destination, whatever was known of the
    // workload behind it when it was asked for (a Service asked for before its pods are known
    // is named as itself, then as its workload).
    if (t.service !== undefined) {
      return `k8s:${t.namespace}/svc/${t.service}/${asItself(t) ? "" : t.name}`;
    }
    return `k8s:${t.namespace}/${t.name}/${t.workloadKind ?? ""}/`;
  }
  if (t.dnsName !== undefined) return t.dnsName;
  return `ip:${"ips" in t ? (t.ips[0] ?? "") : (t.ip ?? "")}`;
}

/** A Service named as itself: no workload was known behind it when it was asked for. */
export function asItself(t: KubernetesTarget): boolean {
  return t.service !== undefined && t.workloadKind === undefined && t.name === t.service;
}

/** The key prefix every destination reached through one Service shares. */
export function serviceKeyPrefix(t: KubernetesTarget): string {
  return `k8s:${t.namespace}/svc/${t.service ?? ""}/`;
}

function distinct(xs: readonly string[]): boolean {
  for (let i = 1; i < xs.length; i++) {
    for (let j = 0; j < i; j++) if (xs[i] === xs[j]) return false;
  }
  return true;
}

export class EgressState {
  private readonly workloads = new Map<string, WorkloadState>();
  /** The same, by identity object: a pod's identity is one object, found without a key. */
  private readonly byIdentity = new WeakMap<WorkloadIdentity, WorkloadState>();
  /** Named targets, shared by every workload that reached the name (and so its string). */
  private readonly named = new BoundedMap<string, DestinationTarget>(SHARED_NAMES_MAX);

  /** Reported destinations dropped because their workload was at its cap. */
  noRoom = 0;

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
    let w = this.byIdentity.get(identity);
    if (w && !w.forgotten) return w;
    const key = workloadKey(identity);
    w = this.workloads.get(key);
    if (!w) {
      w = { key, identity, destinations: new Map(), truncated: new Set(), dirty: false };
      this.workloads.set(key, w);
    }
    this.byIdentity.set(identity, w);
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

  /** The workload's coverage changed, or one of its breaks ended as a gap. */
  cover(identity: WorkloadIdentity, coverage: Coverage, gap?: Gap, since?: number): void {
    const w = this.workload(identity);
    w.coverage = coverage;
    w.coverageSince = since;
    if (gap) w.gaps = mergeGaps(w.gaps ?? [], [gap]);
    w.dirty = true;
  }

  private targetOf(t: ObservedTarget): DestinationTarget {
    if (t.kind === "kubernetes") return t;
    if (t.dnsName === undefined) return { kind: "internet", ip: t.ips[0] ?? "" };
    let shared = this.named.get(t.dnsName);
    if (!shared) {
      shared = { kind: "internet", dnsName: t.dnsName };
      this.named.set(t.dnsName, shared);
    }
    return shared;
  }

  /** Records one observation; true when it made the workload dirty. */
  record(o: Observation): boolean {
    const w = this.workload(o.workload);
    const key = destinationKey(o.target);
    if (w.refused?.has(key)) return false;
    const t = toSeconds(o.timeMs);
    let d = w.destinations.get(key);
    let material = false;
    if (!d && o.target.kind === "kubernetes" && o.target.service !== undefined) {
      // A Service named as itself gives way to the workloads behind it once they are known,
      // and is not recorded while one of them is.
      const prefix = serviceKeyPrefix(o.target);
      if (asItself(o.target)) {
        for (const k of w.destinations.keys()) {
          if (k.startsWith(prefix)) return this.seenAgain(w, w.destinations.get(k)!, t);
        }
      } else {
        const itself = w.destinations.get(prefix);
        if (itself) {
          w.destinations.delete(prefix);
          d = new DestinationState(this.targetOf(o.target), Math.min(itself.first, t));
          d.last = Math.max(itself.last, t);
          d.ports = itself.ports;
          w.destinations.set(key, d);
          material = true;
        }
      }
    }
    if (!d) {
      if (w.destinations.size >= this.limits.destinations) {
        if (o.reported) {
          this.noRoom++;
          return false;
        }
        this.evictOldest(w);
      }
      d = new DestinationState(this.targetOf(o.target), t);
      // Keyed by the shared target's own name string, not the one just decoded.
      w.destinations.set(d.target.kind === "internet" ? (d.target.dnsName ?? key) : key, d);
      material = true;
    } else {
      if (t < d.first) d.first = t;
      if (t > d.last) d.last = t;
      if ((d.last - d.published) * 1000 > this.limits.granularityMs) material = true;
    }
    if (o.target.kind === "internet") {
      const ips = o.target.ips;
      if (d.ips.length === 0 && ips.length <= this.limits.ips && distinct(ips)) {
        // A new destination takes the answer's addresses as they are, in one allocation.
        if (ips.length > 0) {
          d.ips = ips.slice();
          material = true;
        }
      } else {
        for (const ip of ips) if (this.addIp(w, d, ip)) material = true;
      }
    }
    if (o.port !== undefined && this.addPort(w, d, o.port)) material = true;
    if (material) w.dirty = true;
    return material;
  }

  /** A known destination seen again at `t` (seconds): whether that is material. */
  private seenAgain(w: WorkloadState, d: DestinationState, t: number): boolean {
    if (t < d.first) d.first = t;
    if (t > d.last) d.last = t;
    const material = (d.last - d.published) * 1000 > this.limits.granularityMs;
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
    const t = toSeconds(timeMs);
    for (const d of w.destinations.values()) {
      if (d.target.kind !== "internet" || d.target.dnsName === undefined || !d.ips.includes(ip)) {
        continue;
      }
      named = true;
      if (this.addPort(w, d, port)) material = true;
      if (t > d.last) d.last = t;
      if ((d.last - d.published) * 1000 > this.limits.granularityMs) material = true;
    }
    if (!named) {
      return this.record({
        workload,
        target: { kind: "internet", ips: [ip] },
        port,
        timeMs,
        reported: true,
      });
    }
    if (material) w.dirty = true;
    return material;
  }

  private addIp(w: WorkloadState, d: DestinationState, ip: string): boolean {
    const ips = d.ips;
    const at = ips.indexOf(ip);
    if (at >= 0) {
      // Most recent last, so the least recently seen is cut first. Kept only once the list
      // is half full: before, nothing can be cut, and a known answer costs no allocation.
      if (at !== ips.length - 1 && ips.length * 2 > this.limits.ips) {
        d.ips = ips.slice(0, at).concat(ips.slice(at + 1), ip);
      }
      return false;
    }
    if (ips.length >= this.limits.ips) {
      d.ips = ips.slice(1).concat(ip);
      w.truncated.add(`ips of ${d.target.kind === "internet" ? (d.target.dnsName ?? ip) : d.key}`);
    } else {
      // concat allocates the exact size; a spread or push leaves room to grow.
      d.ips = ips.length === 0 ? [ip] : ips.concat(ip);
    }
    return true;
  }

  private addPort(w: WorkloadState, d: DestinationState, port: number): boolean {
    if (d.ports.includes(port)) return false;
    if (d.ports.length >= this.limits.ports) {
      w.truncated.add(`ports of ${d.key}`);
      return false;
    }
    d.ports = d.ports.concat(port).sort((a, b) => a - b);
    return true;
  }

  private evictOldest(w: WorkloadState): void {
    let oldest: string | undefined;
    let last = Infinity;
    for (const [key, d] of w.destinations) {
      if (d.last < last) {
        oldest = key;
        last = d.last;
      }
    }
    if (oldest !== undefined) w.destinations.delete(oldest);
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
      for (const d of w.destinations.values()) d.published = d.last;
    }
    return out;
  }

  /**
   * The API server refused every write with these destinations: they leave memory and are not
   * recorded again for this workload (at most REFUSED_MAX are remembered).
   */
  refuse(key: string, destinations: readonly string[]): void {
    const w = this.workloads.get(key);
    if (!w || destinations.length === 0) return;
    w.refused ??= new Set();
    for (const d of destinations) {
      w.destinations.delete(d);
      if (w.refused.size < REFUSED_MAX) w.refused.add(d);
    }
  }

  markDirty(key: string): void {
    const w = this.workloads.get(key);
    if (w) w.dirty = true;
  }

  /** Forgets a workload that has seen nothing and has nothing to write. */
  dropIdle(key: string): void {
    const w = this.workloads.get(key);
    if (w && !w.dirty && w.destinations.size === 0) {
      w.forgotten = true;
      this.workloads.delete(key);
    }
  }

  /**
   * After a successful write: forgets the destinations that are stored as they are and were
   * last seen before `cutoffMs`, and the workload itself once nothing is left. Nothing is
   * lost, because every write merges with what is stored; a destination seen again is new
   * here and written once more. This keeps memory to what is recent, whatever the cluster's
   * churn (a bare pod is a workload of its own).
   */
  forget(key: string, cutoffMs: number): void {
    const w = this.workloads.get(key);
    if (!w || w.dirty) return;
    // Written: the gaps are stored, and stored gaps are merged on every write.
    w.gaps = undefined;
    const cutoff = toSeconds(cutoffMs);
    for (const [k, d] of w.destinations) {
      if (d.published === d.last && d.last < cutoff) w.destinations.delete(k);
    }
    if (w.destinations.size === 0) {
      w.forgotten = true;
      this.workloads.delete(key);
    }
  }
}

/** A workload's state as plain, immutable data. */
export interface WorkloadSnapshot {
  readonly key: string;
  readonly identity: WorkloadIdentity;
  readonly observingSince?: number;
  readonly coverage?: Coverage;
  readonly coverageSince?: number;
  readonly gaps: readonly Gap[];
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
    const t = d.target;
    destinations.push({
      key: d.key,
      target:
        t.kind === "kubernetes"
          ? t
          : t.dnsName !== undefined
            ? { kind: "internet", dnsName: t.dnsName, ips: [...d.ips] }
            : { kind: "internet", ips: [...d.ips] },
      ports: [...d.ports],
      firstSeen: toMs(d.first),
      lastSeen: toMs(d.last),
    });
  }
  return {
    key: w.key,
    identity: w.identity,
    ...(w.observingSince === undefined ? {} : { observingSince: w.observingSince }),
    ...(w.coverage ? { coverage: w.coverage } : {}),
    ...(w.coverage && w.coverageSince !== undefined ? { coverageSince: w.coverageSince } : {}),
    gaps: w.gaps ? [...w.gaps] : [],
    destinations,
    truncated: [...w.truncated].sort(),
  };
}
