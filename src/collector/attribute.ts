import { clientIpFromBytes, parseIp } from "../ip.js";
import { asObject, type Obj } from "../shape.js";
import { resolveResponse } from "./dns-message.js";
import { MESSAGE_TYPE, type DnstapMessage } from "./dnstap.js";
import type { KubernetesTarget, Observation, ObservedTarget } from "./egress-state.js";
import type { PodIpIndex, PodRecord, WorkloadIdentity } from "./pods.js";

/**
 * From a dnstap message to an observation: which workload asked (its pod, by client IP at the
 * answer's time) and what it reached (an internet name with its addresses, or, for a name in
 * the cluster domain, the workload behind the Service).
 */

export interface ServiceRecord {
  readonly namespace: string;
  readonly name: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly clusterIps: readonly string[];
}

export interface EndpointSliceRecord {
  readonly namespace: string;
  readonly service: string;
  /** Pods behind the slice (targetRef), as namespace/name, and whether each is ready. */
  readonly pods: readonly {
    readonly namespace: string;
    readonly name: string;
    readonly ready?: boolean;
  }[];
}

const obj = (v: unknown): Obj => asObject(v) ?? {};
const text = (v: unknown): string => (typeof v === "string" ? v : "");

/** A Service object as the index keeps it: its selector and cluster IPs. */
export function serviceRecord(o: unknown): ServiceRecord {
  const m = obj(obj(o).metadata);
  const spec = obj(obj(o).spec);
  const ips: unknown[] = Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [spec.clusterIP];
  const selector: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(spec.selector)))
    if (typeof v === "string") selector[k] = v;
  return {
    namespace: text(m.namespace),
    name: text(m.name),
    selector,
    clusterIps: ips.filter((ip): ip is string => typeof ip === "string" && ip !== "None"),
  };
}

/** An EndpointSlice as the index keeps it (its Service and pods); undefined without a Service. */
export function endpointSliceRecord(o: unknown): EndpointSliceRecord | undefined {
  const m = obj(obj(o).metadata);
  const namespace = text(m.namespace);
  const service = text(obj(m.labels)["kubernetes.io/service-name"]);
  if (!service) return undefined;
  const endpoints = obj(o).endpoints;
  const pods = (Array.isArray(endpoints) ? endpoints : [])
    .map((e) => ({ r: obj(obj(e).targetRef), ready: obj(obj(e).conditions).ready !== false }))
    .filter(({ r }) => r.kind === "Pod" && text(r.name) !== "")
    .map(({ r, ready }) => ({
      namespace: text(r.namespace) || namespace,
      name: text(r.name),
      ready,
    }));
  return { namespace, service, pods };
}

/** Services and their EndpointSlices, by namespace/name. */
export class ServiceIndex {
  private readonly services = new Map<string, ServiceRecord>();
  private readonly byClusterIp = new Map<string, string>();
  private readonly slices = new Map<string, EndpointSliceRecord>();
  /** "namespace/service" → its slices, by slice key. */
  private readonly byService = new Map<string, Map<string, EndpointSliceRecord>>();
  /** Bumped by every change: what was computed from the index before is stale. */
  generation = 0;
  /** serviceBackends' answers, valid while both indexes are at the generations noted. */
  readonly backends = new Map<
    string,
    { services: number; pods: number; targets: KubernetesTarget[] | undefined }
  >();

  setService(s: ServiceRecord): void {
    this.deleteService(s.namespace, s.name);
    this.generation++;
    const key = `${s.namespace}/${s.name}`;
    this.services.set(key, s);
    for (const ip of s.clusterIps) this.byClusterIp.set(ip, key);
  }

  deleteService(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const old = this.services.get(key);
    if (!old) return;
    this.generation++;
    this.services.delete(key);
    for (const ip of old.clusterIps)
      if (this.byClusterIp.get(ip) === key) this.byClusterIp.delete(ip);
  }

  /** key: the slice's namespace/name */
  setSlice(key: string, slice: EndpointSliceRecord | undefined): void {
    this.generation++;
    const old = this.slices.get(key);
    if (old) {
      const of = this.byService.get(`${old.namespace}/${old.service}`);
      of?.delete(key);
      if (of?.size === 0) this.byService.delete(`${old.namespace}/${old.service}`);
      this.slices.delete(key);
    }
    if (!slice) return;
    this.slices.set(key, slice);
    const service = `${slice.namespace}/${slice.service}`;
    const of = this.byService.get(service);
    if (of) of.set(key, slice);
    else this.byService.set(service, new Map([[key, slice]]));
  }

  service(namespace: string, name: string): ServiceRecord | undefined {
    return this.services.get(`${namespace}/${name}`);
  }

  serviceAt(clusterIp: string): ServiceRecord | undefined {
    const key = this.byClusterIp.get(clusterIp);
    return key === undefined ? undefined : this.services.get(key);
  }

  slicesOf(namespace: string, service: string): Iterable<EndpointSliceRecord> {
    return this.byService.get(`${namespace}/${service}`)?.values() ?? [];
  }
}

function kubernetesTarget(w: WorkloadIdentity, service?: string): KubernetesTarget {
  return {
    kind: "kubernetes",
    name: w.name,
    namespace: w.namespace,
    ...(w.kind ? { workloadKind: w.kind } : {}),
    ...(service ? { service } : {}),
  };
}

/**
 * The workloads behind a Service: those of the pods of its EndpointSlices, else of the pods its
 * selector matches, each once, in one order (a canary Service credits every workload behind
 * it, the same way on every replica). A Service with neither is named as itself; a name no
 * Service has is undefined.
 */
export function serviceBackends(
  services: ServiceIndex,
  pods: PodIpIndex,
  namespace: string,
  name: string,
): KubernetesTarget[] | undefined {
  // Computed once per change of either index: a Service with many endpoints is asked for
  // far more often than its pods change.
  const cacheKey = `${namespace}/${name}`;
  const cached = services.backends.get(cacheKey);
  if (cached?.services === services.generation && cached.pods === pods.generation) {
    return cached.targets;
  }
  if (services.backends.size > 100_000) services.backends.clear();
  const targets = computeBackends(services, pods, namespace, name);
  services.backends.set(cacheKey, {
    services: services.generation,
    pods: pods.generation,
    targets,
  });
  return targets;
}

function computeBackends(
  services: ServiceIndex,
  pods: PodIpIndex,
  namespace: string,
  name: string,
): KubernetesTarget[] | undefined {
  const svc = services.service(namespace, name);
  const found = new Map<string, KubernetesTarget>();
  const add = (w: WorkloadIdentity) => {
    const key = `${w.namespace}/${w.name}/${w.kind ?? ""}`;
    if (!found.has(key)) found.set(key, kubernetesTarget(w, name));
  };
  for (const slice of services.slicesOf(namespace, name)) {
    for (const ref of slice.pods) {
      const pod = pods.byName(ref.namespace, ref.name);
      if (pod) add(pod.workload);
    }
  }
  if (found.size === 0 && svc)
    for (const pod of pods.matching(namespace, svc.selector)) add(pod.workload);
  if (found.size > 0) {
    return [...found.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, t]) => t);
  }
  return svc ? [{ kind: "kubernetes", name, namespace, service: name }] : undefined;
}

export interface AttributionContext {
  readonly pods: PodIpIndex;
  readonly services: ServiceIndex;
  /** The cluster's DNS zones ("cluster.local", and any other the cluster DNS serves). */
  readonly clusterDomains: readonly string[];
}

/**
 * A name in a cluster zone (`zone`, one of ctx.clusterDomains): a Service (or a pod of a
 * headless one), or a pod by IP.
 */
export function clusterTargets(
  name: string,
  zone: string,
  ctx: AttributionContext,
  timeMs: number,
): KubernetesTarget[] | undefined {
  const labels = name.slice(0, -(zone.length + 1)).split(".");
  const kind = labels[labels.length - 1];
  if (kind === "svc" && (labels.length === 3 || labels.length === 4)) {
    const svc = labels[labels.length - 3] as string;
    const ns = labels[labels.length - 2] as string;
    return serviceBackends(ctx.services, ctx.pods, ns, svc);
  }
  if (kind === "pod" && labels.length === 3) {
    // 10-1-2-3.ns.pod.<domain>; v6 addresses spell their colons as dashes too.
    const dashed = labels[0] as string;
    const ip = parseIp(dashed.replace(/-/g, ".")) ?? parseIp(dashed.replace(/-/g, ":"));
    const pod = ip ? ctx.pods.at(ip.text, timeMs) : undefined;
    return pod ? [kubernetesTarget(pod.workload)] : undefined;
  }
  return undefined;
}

export function inClusterDomain(name: string, clusterDomain: string): boolean {
  return name === clusterDomain || name.endsWith(`.${clusterDomain}`);
}

/** The cluster zone `name` is in (the longest that matches), if any. */
export function clusterZoneOf(name: string, zones: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const z of zones) {
    if (inClusterDomain(name, z) && (best === undefined || z.length > best.length)) best = z;
  }
  return best;
}

/** inClusterDomain for one context, made once (it is asked for every answer). */
const localNamesOf = new WeakMap<AttributionContext, (name: string) => boolean>();
function localNames(ctx: AttributionContext): (name: string) => boolean {
  let f = localNamesOf.get(ctx);
  if (!f) {
    localNamesOf.set(ctx, (f = (name) => clusterZoneOf(name, ctx.clusterDomains) !== undefined));
  }
  return f;
}

export type Outcome =
  | {
      readonly kind: "observation";
      readonly observation: Observation;
      /** More of the same sighting: the other workloads behind a canary Service. */
      readonly more?: readonly Observation[];
    }
  /** Not a client's answer, an error (NXDOMAIN: a search-path miss), or no addresses. */
  | { readonly kind: "ignored"; readonly why: string }
  /**
   * An answer nobody can be named for. `retry` is set when no pod is known for the client's
   * address yet: a pod informer that lags may name it a moment later.
   */
  | { readonly kind: "unattributed"; readonly why: string; readonly retry?: Resolution }
  /** A known client asked for a name in the cluster domain that no Service or pod has. */
  | { readonly kind: "unknown-cluster-name"; readonly why: string };

/** One name resolution by one client, as observeResolution takes it. */
export interface Resolution {
  readonly clientIp: string;
  readonly name: string;
  readonly ips: readonly string[];
  readonly timeMs: number;
}

/**
 * The pod that had a client IP at a time, if it can be named: one whose ReplicaSet or Job is
 * not known yet is not, unless `provisional` (the answer waited long enough).
 */
function asker(
  ctx: AttributionContext,
  ip: string,
  timeMs: number,
  provisional: boolean,
): PodRecord | { why: string } {
  const pod = ctx.pods.at(ip, timeMs);
  // (No time in the reason: it is built for every answer of an address not known yet.)
  if (!pod) return { why: `no pod had ${ip}` };
  if (pod.unresolved !== undefined && !provisional) {
    return {
      why: `the owner ${pod.unresolved} of pod ${pod.namespace}/${pod.name} is not known yet`,
    };
  }
  return pod;
}

/** What one name resolution means for whoever asked. */
export function observeResolution(
  ctx: AttributionContext,
  clientIp: string,
  name: string,
  ips: readonly string[],
  timeMs: number,
  provisional = false,
): Outcome {
  const pod = asker(ctx, clientIp, timeMs, provisional);
  if ("why" in pod) {
    return { kind: "unattributed", why: pod.why, retry: { clientIp, name, ips, timeMs } };
  }
  const zone = clusterZoneOf(name, ctx.clusterDomains);
  if (zone === undefined) {
    const target: ObservedTarget = { kind: "internet", dnsName: name, ips };
    return { kind: "observation", observation: { workload: pod.workload, target, timeMs } };
  }
  const targets = clusterTargets(name, zone, ctx, timeMs);
  const [first, ...rest] = targets ?? [];
  if (!first) return { kind: "unknown-cluster-name", why: `${name} names no known Service or pod` };
  const workload = pod.workload;
  return {
    kind: "observation",
    observation: { workload, target: first, timeMs },
    ...(rest.length > 0 ? { more: rest.map((target) => ({ workload, target, timeMs })) } : {}),
  };
}

/**
 * A decoded dnstap message as an outcome. `now` stands in for a message without a time.
 * Throws DnsMessageError for a malformed DNS response.
 */
export function observeDnstap(ctx: AttributionContext, m: DnstapMessage, now: number): Outcome {
  if (m.type !== MESSAGE_TYPE.CLIENT_RESPONSE) return { kind: "ignored", why: "not a response" };
  if (!m.responseMessage) return { kind: "ignored", why: "no response message" };
  const client = m.queryAddress ? clientIpFromBytes(m.queryAddress) : undefined;
  if (!client) return { kind: "unattributed", why: "no client address" };
  const r = resolveResponse(m.responseMessage, localNames(ctx));
  if (!r) return { kind: "ignored", why: "no addresses" };
  return observeResolution(ctx, client.text, r.name, r.ips, m.timeMs ?? now);
}
