import { parseIp } from "../ip.js";
import { asObject, type Obj } from "../shape.js";

/**
 * Who asked: a client IP becomes a pod, and a pod becomes its Otterize workload identity
 * (DESIGN: the `intents.otterize.com/workload-name` annotation, else the root controller:
 * ReplicaSet → Deployment, Job → CronJob, StatefulSet, DaemonSet; else the pod itself).
 */

export const WORKLOAD_NAME_ANNOTATION = "intents.otterize.com/workload-name";

export interface WorkloadIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly kind?: string;
}

export interface OwnerReference {
  readonly kind: string;
  readonly name: string;
  readonly controller?: boolean;
}

/** A pod as the collector keeps it: a few fields, not the object. */
export interface PodRecord {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly ips: readonly string[];
  readonly hostNetwork: boolean;
  /** spec.dnsPolicy ("ClusterFirst" when unset, as the API server defaults it). */
  readonly dnsPolicy: string;
  /** spec.dnsConfig.nameservers (what a dnsPolicy None pod asks). */
  readonly nameservers: readonly string[];
  /** spec.nodeName, once scheduled. */
  readonly node?: string;
  readonly labels: Readonly<Record<string, string>>;
  /** From when the pod may have used its IPs (start time, else creation). */
  readonly startMs: number;
  /** From when it no longer does (deleted, finished); undefined while it runs. */
  readonly endMs?: number;
  readonly workload: WorkloadIdentity;
}

/** The controller owner of a ReplicaSet or Job, as its informer last saw it. */
export type OwnerLookup = (
  namespace: string,
  kind: string,
  name: string,
) => OwnerReference | undefined;

function obj(v: unknown): Obj {
  return asObject(v) ?? {};
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

export function controllerOf(metadata: unknown): OwnerReference | undefined {
  const refs = obj(metadata).ownerReferences;
  if (!Array.isArray(refs)) return undefined;
  const owners = refs
    .map(obj)
    .filter((r) => str(r.kind) && str(r.name))
    .map((r) => ({
      kind: r.kind as string,
      name: r.name as string,
      controller: r.controller === true,
    }));
  return owners.find((r) => r.controller) ?? owners[0];
}

/** A pod's workload identity. */
export function workloadOfPod(pod: Obj, ownerOf: OwnerLookup): WorkloadIdentity {
  const meta = obj(pod.metadata);
  const namespace = str(meta.namespace) ?? "default";
  const name = str(meta.name) ?? "";
  const override = str(obj(meta.annotations)[WORKLOAD_NAME_ANNOTATION]);
  if (override) return { namespace, name: override };
  const owner = controllerOf(meta);
  if (!owner) return { namespace, name, kind: "Pod" };
  if (owner.kind === "ReplicaSet") {
    const up = ownerOf(namespace, "ReplicaSet", owner.name);
    if (up?.kind === "Deployment") return { namespace, name: up.name, kind: "Deployment" };
    if (up === undefined) {
      // The ReplicaSet is not known yet: a Deployment names it <deployment>-<pod-template-hash>.
      const hash = str(obj(meta.labels)["pod-template-hash"]);
      if (hash && owner.name.endsWith(`-${hash}`)) {
        return { namespace, name: owner.name.slice(0, -hash.length - 1), kind: "Deployment" };
      }
    }
    return { namespace, name: owner.name, kind: "ReplicaSet" };
  }
  if (owner.kind === "Job") {
    const up = ownerOf(namespace, "Job", owner.name);
    if (up?.kind === "CronJob") return { namespace, name: up.name, kind: "CronJob" };
    return { namespace, name: owner.name, kind: "Job" };
  }
  return { namespace, name: owner.name, kind: owner.kind };
}

function time(v: unknown): number | undefined {
  const t = v instanceof Date ? v.getTime() : typeof v === "string" ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? undefined : t;
}

/** When a finished pod's containers stopped (the latest), if it finished. */
function finishedAt(status: Obj): number | undefined {
  if (status.phase !== "Succeeded" && status.phase !== "Failed") return undefined;
  let last: number | undefined;
  const statuses = status.containerStatuses;
  for (const s of Array.isArray(statuses) ? statuses : []) {
    const t = time(obj(obj(obj(s).state).terminated).finishedAt);
    if (t !== undefined && (last === undefined || t > last)) last = t;
  }
  return last;
}

const NO_NAMESERVERS: readonly string[] = Object.freeze([]);

function nameserversOf(spec: Obj): readonly string[] {
  const list = obj(spec.dnsConfig).nameservers;
  if (!Array.isArray(list) || list.length === 0) return NO_NAMESERVERS;
  return list.flatMap((v) => {
    const ip = parseIp(str(v) ?? "");
    return ip ? [ip.text] : [];
  });
}

/** The record of a pod object; undefined when it has no IP yet. */
export function podRecord(pod: Obj, ownerOf: OwnerLookup): PodRecord | undefined {
  const meta = obj(pod.metadata);
  const spec = obj(pod.spec);
  const status = obj(pod.status);
  const ips = new Set<string>();
  const podIps = status.podIPs;
  for (const p of Array.isArray(podIps) ? podIps : []) {
    const ip = parseIp(str(obj(p).ip) ?? "");
    if (ip) ips.add(ip.text);
  }
  const single = parseIp(str(status.podIP) ?? "");
  if (single) ips.add(single.text);
  if (ips.size === 0) return undefined;
  const startMs = time(status.startTime) ?? time(meta.creationTimestamp) ?? 0;
  const endMs = time(meta.deletionTimestamp) ?? finishedAt(status);
  const record = {
    uid: str(meta.uid) ?? `${str(meta.namespace) ?? ""}/${str(meta.name) ?? ""}`,
    namespace: str(meta.namespace) ?? "default",
    name: str(meta.name) ?? "",
    ips: [...ips],
    hostNetwork: spec.hostNetwork === true,
    dnsPolicy: str(spec.dnsPolicy) ?? "ClusterFirst",
    nameservers: nameserversOf(spec),
    ...(str(spec.nodeName) ? { node: str(spec.nodeName) } : {}),
    labels: Object.fromEntries(
      Object.entries(obj(meta.labels)).filter(
        (e): e is [string, string] => typeof e[1] === "string",
      ),
    ),
    startMs,
    workload: workloadOfPod(pod, ownerOf),
  };
  return endMs === undefined ? record : { ...record, endMs };
}

/** How far a DNS server's clock and the API server's may disagree. */
export const CLOCK_SLACK_MS = 2_000;
/** How long a gone pod stays attributable (answers in flight when it stopped). */
export const GONE_KEPT_MS = 60_000;

/**
 * Pods by IP, guarding against reuse: an IP may belong to a pod that is gone and to its
 * successor; the pod alive at the answer's time wins. hostNetwork pods share their node's
 * IP and are never attributed.
 */
export class PodIpIndex {
  private readonly byIp = new Map<string, PodRecord[]>();
  private readonly byUid = new Map<string, PodRecord>();
  /** namespace/name → uid */
  private readonly names = new Map<string, string>();

  get size(): number {
    return this.byUid.size;
  }

  set(pod: PodRecord): void {
    this.remove(pod.uid);
    this.byUid.set(pod.uid, pod);
    this.names.set(`${pod.namespace}/${pod.name}`, pod.uid);
    if (pod.hostNetwork) return;
    for (const ip of pod.ips) {
      const list = this.byIp.get(ip);
      if (list) list.push(pod);
      else this.byIp.set(ip, [pod]);
    }
  }

  /** The pod is gone (deleted) at `atMs`: it stays attributable for answers before then. */
  gone(uid: string, atMs: number): void {
    const pod = this.byUid.get(uid);
    if (pod && (pod.endMs === undefined || pod.endMs > atMs)) this.set({ ...pod, endMs: atMs });
  }

  private remove(uid: string): void {
    const old = this.byUid.get(uid);
    if (!old) return;
    this.byUid.delete(uid);
    const key = `${old.namespace}/${old.name}`;
    if (this.names.get(key) === uid) this.names.delete(key);
    for (const ip of old.ips) {
      const list = this.byIp.get(ip)?.filter((p) => p.uid !== uid);
      if (list && list.length > 0) this.byIp.set(ip, list);
      else this.byIp.delete(ip);
    }
  }

  /** The pod that had `ip` at `timeMs`, if one did. */
  at(ip: string, timeMs: number): PodRecord | undefined {
    const list = this.byIp.get(ip);
    if (!list) return undefined;
    let best: PodRecord | undefined;
    for (const p of list) {
      if (p.startMs - CLOCK_SLACK_MS > timeMs) continue;
      if (p.endMs !== undefined && p.endMs + CLOCK_SLACK_MS <= timeMs) continue;
      if (!best || p.startMs > best.startMs) best = p;
    }
    return best;
  }

  /** The pods of a namespace whose labels match a Service selector. */
  *matching(namespace: string, selector: Readonly<Record<string, string>>): Iterable<PodRecord> {
    const keys = Object.entries(selector);
    if (keys.length === 0) return;
    for (const p of this.byUid.values()) {
      if (p.namespace !== namespace || p.endMs !== undefined) continue;
      if (keys.every(([k, v]) => p.labels[k] === v)) yield p;
    }
  }

  /** The pods running now (not ended). */
  *running(): Iterable<PodRecord> {
    for (const p of this.byUid.values()) if (p.endMs === undefined) yield p;
  }

  byName(namespace: string, name: string): PodRecord | undefined {
    const uid = this.names.get(`${namespace}/${name}`);
    return uid === undefined ? undefined : this.byUid.get(uid);
  }

  /** Forgets pods gone for longer than GONE_KEPT_MS. */
  prune(nowMs: number): void {
    for (const p of [...this.byUid.values()]) {
      if (p.endMs !== undefined && p.endMs + GONE_KEPT_MS < nowMs) this.remove(p.uid);
    }
  }
}
