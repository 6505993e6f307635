import { fastDomainKeys, fastV2Target, IntentsReader, v2Target } from "./client-intents.js";
import { declaredDomain, isWildcard } from "./domain.js";
import { parseTimestamp } from "./duration.js";
import { InputError, type Source } from "./errors.js";
import { isCanonicalV4, parseIp, type IpAddress } from "./ip.js";
import {
  HeldInternetDestination,
  heldKubernetesDestination,
  heldTimes,
  joinedIpTexts,
  shared,
  type DeclaredTimes,
  type JoinedIpTexts,
} from "./held.js";
import { ownCopy } from "./own-copy.js";
import { sharedPorts } from "./ports.js";
import { itemKey, type DeclaredItem } from "./targets.js";
import {
  apiObjectDocument,
  findObjects,
  foundInstead,
  ofKind,
  otherObjects,
  type Others,
} from "./k8s-objects.js";
import type { Obj } from "./shape.js";
import { parseSnapshotDocuments, type PathSegment, type YamlDocument } from "./yaml-documents.js";

/**
 * ObservedEgress (egress.otter.dev/v1alpha1): what the collector saw one workload call.
 * Read from snapshots (`kubectl get oe -A -o yaml`) and, later, from the cluster.
 */

export const OBSERVED_GROUP = "egress.otter.dev";
export const OBSERVED_VERSION = "v1alpha1";
export const OBSERVED_API_VERSION = `${OBSERVED_GROUP}/${OBSERVED_VERSION}`;
/** The resource, as the API names it (the collector writes it, the webhook and plugin read it). */
export const OBSERVED_PLURAL = "observedegresses";

interface Seen {
  readonly firstSeen?: number;
  readonly lastSeen: number;
}

export interface InternetDestination extends Seen {
  readonly kind: "internet";
  /** Normalised DNS name, when the IPs came from a DNS answer. */
  readonly dnsName?: string;
  readonly ips: readonly IpAddress[];
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

/** A break in observation longer than two minutes (DESIGN: coverage). */
export interface Gap {
  readonly from: number;
  readonly to: number;
  readonly why: string;
}

/** Whether the workload's pods can be observed now; when not, why. */
export type Coverage =
  { readonly state: "full" } | { readonly state: "none"; readonly reason: string };

export interface ObservedWorkload {
  readonly namespace: string;
  readonly name: string;
  readonly kind?: string;
  readonly observingSince?: number;
  /** Absent (written before coverage was recorded): read as full. */
  readonly coverage?: Coverage;
  readonly gaps: readonly Gap[];
  /** What the collector had to cut to fit the object ("destinations", "ips of a.com"). */
  readonly truncated?: string;
  readonly destinations: readonly Destination[];
  /** itemKey(declared target) → when it was first declared in the cluster. */
  readonly declaredSince: DeclaredTimes;
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

function isObject(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Ports that need no further checking, or undefined (then the slow path explains). */
function fastPorts(v: unknown): number[] | undefined {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return undefined;
  for (const p of v)
    if (typeof p !== "number" || !Number.isInteger(p) || p < 1 || p > 65535) return undefined;
  return v as number[];
}

/**
 * Addresses that are all IPv4 in canonical spelling (what the collector writes), joined; or
 * undefined (then anyIpTexts reads them). No address objects are made on the way.
 */
function canonicalV4Texts(v: unknown): JoinedIpTexts | undefined {
  if (v === undefined || v === null) return joinedIpTexts([]);
  if (!Array.isArray(v)) return undefined;
  for (const x of v) if (typeof x !== "string" || !isCanonicalV4(x)) return undefined;
  return joinedIpTexts(v as string[]);
}

/** Addresses of either family and any spelling, as canonical texts; errors name the address. */
function anyIpTexts(r: IntentsReader, v: unknown, p: () => readonly PathSegment[]): JoinedIpTexts {
  const texts = r.strings(v, [...p(), "ips"]).map((text, n) => {
    const ip = parseIp(text);
    if (!ip) r.fail([...p(), "ips", n], `"${text}" is not an IP address`);
    return ip.text;
  });
  return joinedIpTexts(texts);
}

/**
 * One destination. Snapshots hold hundreds of thousands of them, so well-formed values take
 * a fast path; anything odd goes through the Reader, whose error names the field and line.
 */
function destination(r: IntentsReader, value: unknown, path: readonly PathSegment[]): Destination {
  // Fields this version does not know (a newer collector's) are left alone.
  const d = r.object(value, path);
  const lastSeen =
    (typeof d.lastSeen === "string" ? parseTimestamp(d.lastSeen) : undefined) ??
    timestamp(r, d.lastSeen, [...path, "lastSeen"]);
  const firstSeen =
    d.firstSeen === undefined || d.firstSeen === null
      ? undefined
      : ((typeof d.firstSeen === "string" ? parseTimestamp(d.firstSeen) : undefined) ??
        timestamp(r, d.firstSeen, [...path, "firstSeen"]));
  const hasInternet = d.internet !== undefined && d.internet !== null;
  const hasKubernetes = d.kubernetes !== undefined && d.kubernetes !== null;
  if (hasInternet === hasKubernetes) {
    r.fail(path, "a destination must have exactly one of internet, kubernetes");
  }
  if (hasInternet) {
    const i = isObject(d.internet) ? d.internet : r.object(d.internet, [...path, "internet"]);
    const p = () => [...path, "internet"];
    const dnsName =
      typeof i.dnsName === "string" || i.dnsName === undefined || i.dnsName === null
        ? (i.dnsName ?? undefined)
        : r.optionalString(i.dnsName, [...p(), "dnsName"]);
    let name: string | undefined;
    if (dnsName) {
      // As in intents: a name that is not a host name (or is a wildcard) is refused.
      const d = isWildcard(dnsName) ? { problem: "a wildcard" } : declaredDomain(dnsName);
      if (d.problem !== undefined) {
        r.fail([...p(), "dnsName"], `"${dnsName}" is not a DNS name: ${d.problem}`);
      }
      name = d.domain;
    }
    const addresses = canonicalV4Texts(i.ips) ?? anyIpTexts(r, i.ips, p);
    if (!name && addresses === "") {
      r.fail(p(), "an internet destination needs a dnsName or ips");
    }
    const ports = sharedPorts(fastPorts(i.ports) ?? r.ports(i.ports, [...p(), "ports"]));
    return new HeldInternetDestination(name, addresses, ports, lastSeen, firstSeen);
  }
  const p = [...path, "kubernetes"];
  const k = r.object(d.kubernetes, p);
  const name = r.string(k.name, [...p, "name"]);
  const namespace = r.string(k.namespace, [...p, "namespace"]);
  const workloadKind = r.optionalString(k.kind, [...p, "kind"]);
  const service = r.optionalString(k.service, [...p, "service"]);
  return heldKubernetesDestination(
    name,
    namespace,
    workloadKind || undefined,
    service || undefined,
    sharedPorts(fastPorts(k.ports) ?? r.ports(k.ports, [...p, "ports"])),
    lastSeen,
    firstSeen,
  );
}

/** One ObservedEgress: `value`, at `base` in `doc`, starting at `line`. */
export function readObservedEgress(
  doc: YamlDocument,
  value: unknown,
  base: readonly PathSegment[],
  line: number | undefined,
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
  const coverage = readCoverage(r, status.coverage);
  const truncated = r.optionalString(status.truncated, ["status", "truncated"]);
  const gaps = r.array(status.gaps, ["status", "gaps"]).map((g, i) => {
    const path = ["status", "gaps", i];
    const o = r.object(g, path);
    return {
      from: timestamp(r, o.from, [...path, "from"]),
      to: timestamp(r, o.to, [...path, "to"]),
      why: ownCopy(r.string(o.why, [...path, "why"])),
    };
  });
  const destinations = r
    .array(status.destinations, ["status", "destinations"])
    .map((d, i) => destination(r, d, ["status", "destinations", i]));
  // Each declared item's key (shared) and since, in order; heldTimes keeps a key's earliest.
  const keys: string[] = [];
  const since: number[] = [];
  r.array(status.declared, ["status", "declared"]).forEach((entry, i) => {
    const path = ["status", "declared", i];
    const e = r.object(entry, path);
    const time =
      (typeof e.since === "string" ? parseTimestamp(e.since) : undefined) ??
      timestamp(r, e.since, [...path, "since"]);
    if (!fastDomainKeys(e.target, keys)) {
      const items: DeclaredItem[] = [];
      if (!fastV2Target(e.target, namespace, r.fileSource(), items)) {
        v2Target(r, e.target, [...path, "target"], namespace, items);
      }
      for (const item of items) keys.push(shared(itemKey(item)));
    }
    while (since.length < keys.length) since.push(time);
  });
  // What is held is copied out of the text it was read from (see ownCopy).
  return {
    namespace: shared(namespace),
    name: ownCopy(name),
    ...(kind ? { kind: shared(kind) } : {}),
    ...(observingSince === undefined ? {} : { observingSince }),
    ...(coverage ? { coverage } : {}),
    ...(truncated ? { truncated: ownCopy(truncated) } : {}),
    gaps,
    destinations,
    declaredSince: heldTimes(keys, since),
    // A plain source: nothing read from a snapshot keeps its (large) parse alive.
    source: { file: doc.file, line },
  };
}

function readCoverage(r: IntentsReader, value: unknown): Coverage | undefined {
  if (value === undefined || value === null) return undefined;
  const path = ["status", "coverage"];
  const c = r.object(value, path);
  if (c.state === "full") return { state: "full" };
  if (c.state === "none") {
    const reason = r.optionalString(c.reason, [...path, "reason"]) || "unknown";
    return { state: "none", reason: ownCopy(reason) };
  }
  return r.fail([...path, "state"], `unknown coverage state "${String(c.state)}" (full or none)`);
}

/** One ObservedEgress object from the API server (errors name the object). */
export function observedFromObject(value: Obj): ObservedWorkload {
  return readObservedEgress(apiObjectDocument(value), value, [], undefined);
}

/** Every ObservedEgress in the documents: plain objects and the items of a List. */
export function observedFromDocuments(docs: readonly YamlDocument[]): ObservedWorkload[] {
  return findObjects(docs, ofKind(OBSERVED_GROUP, "ObservedEgress")).map((o) =>
    readObservedEgress(o.doc, o.value, o.base, o.line),
  );
}

/**
 * What a snapshot file held, as long as it held ObservedEgress. An explicit empty List (a
 * cluster with none) is taken at its word; a file without any (empty, a Deployment, the intents
 * file itself) is an error: it would leave every target unverified and pass.
 */
export function snapshotObserved(
  found: ObservedWorkload[],
  others: Others,
  file: string,
): ObservedWorkload[] {
  if (found.length === 0 && !(others.emptyList && others.kinds.length === 0)) {
    throw new InputError(`no ObservedEgress objects ${foundInstead(others)}`, { file });
  }
  return found;
}

/** The ObservedEgress of a snapshot's text, parsed whole. */
export function observedOfSnapshot(text: string, file: string): ObservedWorkload[] {
  const docs = parseSnapshotDocuments(text, file);
  return snapshotObserved(
    observedFromDocuments(docs),
    otherObjects(docs, ofKind(OBSERVED_GROUP, "ObservedEgress")),
    file,
  );
}
