import { parseIp } from "../ip.js";
import { workloadNameFromAnnotations } from "../labels.js";
import { asObject, type Obj } from "../shape.js";

/**
 * Who asked: a client IP becomes a pod, and a pod becomes its Otterize workload identity
 * (DESIGN: the workload-name annotation (src/labels.ts), else the root controller:
 * ReplicaSet → Deployment, Job → CronJob, StatefulSet, DaemonSet; else the pod itself).
 */

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
  /** What the identity was computed from, to compute it again when an owner changes. */
  readonly source: IdentitySource;
  /** The owner keys on the way up (see Identified). */
  readonly chain: readonly string[];
  /** A ReplicaSet or Job not known yet: `workload` is provisional. */
  readonly unresolved?: string;
}

/**
 * What is known of an object's owner: its first owner reference, `null` when it has none (a
 * root), `undefined` when the object is not known (yet).
 */
export type OwnerLookup = (
  namespace: string,
  kind: string,
  name: string,
) => OwnerReference | null | undefined;

/** Kinds whose objects the informers keep (their owners are known, or they are not there yet). */
export const WATCHED_OWNER_KINDS: ReadonlySet<string> = new Set(["ReplicaSet", "Job"]);
/**
 * Kinds whose owners are read with a GET when needed (apps and batch, what Otterize's resolver
 * may read). Any other kind is a root, as it is for Otterize, whose RBAC reads no other.
 */
export const FETCHED_OWNER_KINDS: ReadonlySet<string> = new Set([
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "CronJob",
]);

function obj(v: unknown): Obj {
  return asObject(v) ?? {};
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** The owner Otterize follows: the first owner reference (not the controller one). */
export function ownerOf(metadata: unknown): OwnerReference | undefined {
  const refs = obj(metadata).ownerReferences;
  if (!Array.isArray(refs)) return undefined;
  for (const r of refs.map(obj)) {
    const kind = str(r.kind);
    const name = str(r.name);
    if (kind && name) return { kind, name, controller: r.controller === true };
  }
  return undefined;
}

/** "Kind:namespace/name" of an owner. */
export const ownerKey = (namespace: string, o: OwnerReference): string =>
  `${o.kind}:${namespace}/${o.name}`;

/** An owner key's kind, namespace and name. */
export function parseOwnerKey(key: string): [string, string, string] {
  const colon = key.indexOf(":");
  const slash = key.indexOf("/", colon);
  return [key.slice(0, colon), key.slice(colon + 1, slash), key.slice(slash + 1)];
}

/** Otterize's name for an owner or a pod: dots become underscores (annotations stay as set). */
export const otterizeName = (name: string): string => name.replace(/\./g, "_");

/** What a pod's identity is computed from (kept in its record, to compute it again). */
export interface IdentitySource {
  readonly namespace: string;
  readonly name: string;
  /** The workload-name annotation (or the deprecated service-name one). */
  readonly override?: string;
  /** The pod's first owner reference. */
  readonly owner?: OwnerReference;
  /** The pod-template-hash label. */
  readonly hash?: string;
}

export interface Identified {
  readonly workload: WorkloadIdentity;
  /**
   * A ReplicaSet or Job on the way up that the informers do not know yet: the identity is
   * provisional (a Job's CronJob, a ReplicaSet's Deployment or Rollout are not known).
   */
  readonly unresolved?: string;
  /** A Deployment, StatefulSet, DaemonSet or CronJob whose owner is to be read (GET). */
  readonly fetch?: { readonly key: string; readonly owner: OwnerReference };
  /** The owners on the way up (keys), so a change to one of them names the pod again. */
  readonly chain: readonly string[];
}

const MAX_DEPTH = 10;

/**
 * A pod's workload identity as Otterize resolves it: the annotation, else the root owner
 * following first owner references through any kind, else the pod itself.
 */
export function identify(src: IdentitySource, lookup: OwnerLookup): Identified {
  const { namespace } = src;
  if (src.override !== undefined) return { workload: { namespace, name: src.override }, chain: [] };
  if (!src.owner)
    return { workload: { namespace, name: otterizeName(src.name), kind: "Pod" }, chain: [] };
  const chain: string[] = [];
  let cur = src.owner;
  const root = (extra: Partial<Identified> = {}): Identified => ({
    workload: { namespace, name: otterizeName(cur.name), kind: cur.kind },
    chain,
    ...extra,
  });
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const key = ownerKey(namespace, cur);
    chain.push(key);
    const watched = WATCHED_OWNER_KINDS.has(cur.kind);
    if (!watched && !FETCHED_OWNER_KINDS.has(cur.kind)) return root();
    const up = lookup(namespace, cur.kind, cur.name);
    if (up === null) return root();
    if (up === undefined) {
      if (!watched) return root({ fetch: { key, owner: cur } });
      // Not known yet. A Deployment names its ReplicaSets <deployment>-<pod-template-hash>.
      if (
        depth === 0 &&
        cur.kind === "ReplicaSet" &&
        src.hash &&
        cur.name.endsWith(`-${src.hash}`)
      ) {
        const name = cur.name.slice(0, -src.hash.length - 1);
        return {
          workload: { namespace, name: otterizeName(name), kind: "Deployment" },
          chain,
          unresolved: key,
        };
      }
      return root({ unresolved: key });
    }
    cur = up;
  }
  return root();
}

/** What a pod object says about its identity. */
export function identitySource(pod: Obj): IdentitySource {
  const meta = obj(pod.metadata);
  const annotations = obj(meta.annotations);
  const override = workloadNameFromAnnotations(annotations);
  const owner = ownerOf(meta);
  const hash = str(obj(meta.labels)["pod-template-hash"]);
  return {
    namespace: str(meta.namespace) ?? "default",
    name: str(meta.name) ?? "",
    ...(override !== undefined ? { override } : {}),
    ...(owner ? { owner } : {}),
    ...(hash ? { hash } : {}),
  };
}

/** A pod's workload identity. */
export function workloadOfPod(pod: Obj, lookup: OwnerLookup): WorkloadIdentity {
  return identify(identitySource(pod), lookup).workload;
}

function time(v: unknown): number | undefined {
  const t = v instanceof Date ? v.getTime() : typeof v === "string" ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? undefined : t;
}

/** When a finished pod's containers stopped (the latest), if it finished. */
function finishedAt(status: Obj): number | undefined {
  const statuses = Array.isArray(status.containerStatuses) ? status.containerStatuses : [];
  const done = status.phase === "Succeeded" || status.phase === "Failed";
  // A pod being deleted stops when its containers have terminated, before its grace period
  // ends and whatever its phase still says: its IP may be someone else's from then on.
  if (!done && statuses.length === 0) return undefined;
  let last: number | undefined;
  for (const s of statuses) {
    const t = time(obj(obj(obj(s).state).terminated).finishedAt);
    if (t === undefined) {
      if (!done) return undefined; // a container still runs
      continue;
    }
    if (last === undefined || t > last) last = t;
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

/** The identity fields of a pod record. */
export function withIdentity(
  source: IdentitySource,
  lookup: OwnerLookup,
): Pick<PodRecord, "workload" | "source" | "chain" | "unresolved"> {
  const id = identify(source, lookup);
  return {
    workload: id.workload,
    source,
    chain: id.chain,
    ...(id.unresolved !== undefined ? { unresolved: id.unresolved } : {}),
  };
}

/** The record of a pod object; undefined when it has no IP yet. */
export function podRecord(pod: Obj, lookup: OwnerLookup): PodRecord | undefined {
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
  const deleted = time(meta.deletionTimestamp);
  const finished = finishedAt(status);
  const endMs =
    deleted === undefined
      ? finished
      : finished === undefined
        ? deleted
        : Math.min(deleted, finished);
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
    ...withIdentity(identitySource(pod), lookup),
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
  /** Owner key (see ownerKey) → the pods with that owner on the way up. */
  private readonly byOwner = new Map<string, Set<string>>();

  get size(): number {
    return this.byUid.size;
  }

  /** Bumped by every change (see ServiceIndex.backends). */
  generation = 0;

  set(pod: PodRecord): void {
    this.remove(pod.uid);
    this.generation++;
    this.byUid.set(pod.uid, pod);
    this.names.set(`${pod.namespace}/${pod.name}`, pod.uid);
    for (const key of pod.chain) {
      const set = this.byOwner.get(key);
      if (set) set.add(pod.uid);
      else this.byOwner.set(key, new Set([pod.uid]));
    }
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
    this.generation++;
    this.byUid.delete(uid);
    const key = `${old.namespace}/${old.name}`;
    if (this.names.get(key) === uid) this.names.delete(key);
    for (const k of old.chain) {
      const set = this.byOwner.get(k);
      set?.delete(uid);
      if (set?.size === 0) this.byOwner.delete(k);
    }
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

  /** The pods with this owner (an ownerKey) on the way up to their workload. */
  withOwner(key: string): PodRecord[] {
    const uids = this.byOwner.get(key);
    if (!uids) return [];
    return [...uids].flatMap((uid) => {
      const p = this.byUid.get(uid);
      return p ? [p] : [];
    });
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
