import { IntentsReader, v2Target } from "./client-intents.js";
import { normalizeDomain } from "./domain.js";
import { parseTimestamp } from "./duration.js";
import type { Source } from "./errors.js";
import { parseIp, type IpAddress } from "./ip.js";
import { itemKey } from "./targets.js";
import { findObjects, ofKind } from "./k8s-objects.js";
import type { PathSegment, YamlDocument } from "./yaml-documents.js";

/**
 * ObservedEgress (egress.otter.dev/v1alpha1): what the collector saw one workload call.
 * Read from snapshots (`kubectl get oe -A -o yaml`) and, later, from the cluster.
 */

export const OBSERVED_GROUP = "egress.otter.dev";
export const OBSERVED_API_VERSION = `${OBSERVED_GROUP}/v1alpha1`;

interface Seen {
  readonly firstSeen?: number;
  readonly lastSeen: number;
}

export interface InternetDestination extends Seen {
  readonly kind: "internet";
  /** Normalised DNS name, when the IPs came from a DNS answer. */
  readonly dnsName?: string;
  readonly ips: readonly IpAddress[];
  /** The IPs as written, in the same order as `ips`. */
  readonly ipTexts: readonly string[];
  readonly ports: readonly number[];
}

export interface KubernetesDestination extends Seen {
  readonly kind: "kubernetes";
  readonly name: string;
  readonly namespace: string;
  readonly workloadKind?: string;
  readonly service?: string;
  readonly ports: readonly number[];
}

export type Destination = InternetDestination | KubernetesDestination;

export interface ObservedWorkload {
  readonly namespace: string;
  readonly name: string;
  readonly kind?: string;
  readonly observingSince?: number;
  readonly destinations: readonly Destination[];
  /** itemKey(declared target) → when it was first declared in the cluster. */
  readonly declaredSince: ReadonlyMap<string, number>;
  readonly source: Source;
}

function timestamp(r: IntentsReader, value: unknown, path: readonly PathSegment[]): number {
  const text = r.string(value, path);
  const ms = parseTimestamp(text);
  if (ms === undefined) r.fail(path, `"${text}" is not an RFC 3339 timestamp`);
  return ms;
}

function optionalTimestamp(r: IntentsReader, value: unknown, path: readonly PathSegment[]) {
  return value === undefined || value === null ? undefined : timestamp(r, value, path);
}

function destination(r: IntentsReader, value: unknown, path: readonly PathSegment[]): Destination {
  const d = r.object(value, path);
  r.onlyFields(d, ["internet", "kubernetes", "firstSeen", "lastSeen"], path);
  const lastSeen = timestamp(r, d.lastSeen, [...path, "lastSeen"]);
  const firstSeen = optionalTimestamp(r, d.firstSeen, [...path, "firstSeen"]);
  const seen = firstSeen === undefined ? { lastSeen } : { firstSeen, lastSeen };
  const hasInternet = d.internet !== undefined && d.internet !== null;
  const hasKubernetes = d.kubernetes !== undefined && d.kubernetes !== null;
  if (hasInternet === hasKubernetes) {
    r.fail(path, "a destination must have exactly one of internet, kubernetes");
  }
  if (hasInternet) {
    const p = [...path, "internet"];
    const i = r.object(d.internet, p);
    r.onlyFields(i, ["dnsName", "ips", "ports"], p);
    const dnsName = r.optionalString(i.dnsName, [...p, "dnsName"]);
    const ipTexts = r.strings(i.ips, [...p, "ips"]);
    const ips = ipTexts.map((text, n) => {
      const ip = parseIp(text);
      if (!ip) r.fail([...p, "ips", n], `"${text}" is not an IP address`);
      return ip;
    });
    if (!dnsName && ips.length === 0) r.fail(p, "an internet destination needs a dnsName or ips");
    const ports = r.ports(i.ports, [...p, "ports"]);
    return {
      kind: "internet",
      ...(dnsName ? { dnsName: normalizeDomain(dnsName) } : {}),
      ips,
      ipTexts,
      ports,
      ...seen,
    };
  }
  const p = [...path, "kubernetes"];
  const k = r.object(d.kubernetes, p);
  r.onlyFields(k, ["name", "namespace", "kind", "service", "ports"], p);
  const name = r.string(k.name, [...p, "name"]);
  const namespace = r.string(k.namespace, [...p, "namespace"]);
  const workloadKind = r.optionalString(k.kind, [...p, "kind"]);
  const service = r.optionalString(k.service, [...p, "service"]);
  return {
    kind: "kubernetes",
    name,
    namespace,
    ...(workloadKind ? { workloadKind } : {}),
    ...(service ? { service } : {}),
    ports: r.ports(k.ports, [...p, "ports"]),
    ...seen,
  };
}

function readObservedEgress(
  doc: YamlDocument,
  value: unknown,
  base: readonly PathSegment[],
): ObservedWorkload {
  const r = new IntentsReader(doc, base);
  const obj = r.object(value, []);
  if (obj.apiVersion !== OBSERVED_API_VERSION) {
    r.fail(
      ["apiVersion"],
      `unknown ObservedEgress version "${String(obj.apiVersion)}" (expected ${OBSERVED_API_VERSION})`,
    );
  }
  const metadata = r.object(obj.metadata, ["metadata"]);
  const namespace = r.string(metadata.namespace, ["metadata", "namespace"]);
  const spec = r.object(obj.spec, ["spec"]);
  const w = r.object(spec.workload, ["spec", "workload"]);
  const name = r.string(w.name, ["spec", "workload", "name"]);
  const kind = r.optionalString(w.kind, ["spec", "workload", "kind"]);
  const status = r.optionalObject(obj.status, ["status"]) ?? {};
  const observingSince = optionalTimestamp(r, status.observingSince, ["status", "observingSince"]);
  const destinations = r
    .array(status.destinations, ["status", "destinations"])
    .map((d, i) => destination(r, d, ["status", "destinations", i]));
  const declaredSince = new Map<string, number>();
  r.array(status.declared, ["status", "declared"]).forEach((entry, i) => {
    const path = ["status", "declared", i];
    const e = r.object(entry, path);
    const since = timestamp(r, e.since, [...path, "since"]);
    for (const item of v2Target(r, e.target, [...path, "target"], namespace)) {
      const key = itemKey(item);
      const known = declaredSince.get(key);
      if (known === undefined || since < known) declaredSince.set(key, since);
    }
  });
  return {
    namespace,
    name,
    ...(kind ? { kind } : {}),
    ...(observingSince === undefined ? {} : { observingSince }),
    destinations,
    declaredSince,
    source: r.source([]),
  };
}

/** Every ObservedEgress in the documents: plain objects and the items of a List. */
export function observedFromDocuments(docs: readonly YamlDocument[]): ObservedWorkload[] {
  return findObjects(docs, ofKind(OBSERVED_GROUP, "ObservedEgress")).map((o) =>
    readObservedEgress(o.doc, o.value, o.base),
  );
}
