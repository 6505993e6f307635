import { normalizeDomain } from "../domain.js";
import { parseIp } from "../ip.js";
import { asObject, type Obj } from "../shape.js";
import { parseTimestamp } from "../duration.js";
import {
  observeResolution,
  serviceBackends,
  type AttributionContext,
  type Outcome,
} from "./attribute.js";
import type { WorkloadIdentity } from "./pods.js";

/**
 * Otterize's sniffer speaks GraphQL to its network-mapper (the mutations of network-mapper's
 * schema that the sniffer sends). The collector answers the same mutations on /query, so a
 * cluster that runs the sniffer can point it here: DNS captures are name resolutions, TCP
 * captures and socket scans are connections that add ports.
 */

export interface ReportedDestination {
  readonly destination: string;
  readonly destinationIP?: string;
  readonly destinationPort?: number;
  readonly lastSeenMs: number;
}

export interface ReportedSource {
  readonly srcIp: string;
  readonly destinations: readonly ReportedDestination[];
}

export type SnifferRequest =
  | { readonly field: "reportCaptureResults"; readonly results: readonly ReportedSource[] }
  | {
      readonly field: "reportTCPCaptureResults" | "reportSocketScanResults";
      readonly results: readonly ReportedSource[];
    }
  /** A mutation or query the collector has no use for: acknowledged, nothing else. */
  | { readonly field: string; readonly results?: undefined };

/** Fields of the network-mapper's schema the sniffer (and its siblings) may call. */
const ACKNOWLEDGED = new Set([
  "health",
  "resetCapture",
  "reportKafkaMapperResults",
  "reportIstioConnectionResults",
  "reportAWSOperation",
  "reportAzureOperation",
  "reportGCPOperation",
  "reportTrafficLevelResults",
]);
const REPORTS = new Set([
  "reportCaptureResults",
  "reportTCPCaptureResults",
  "reportSocketScanResults",
]);

const obj = asObject;

/** The field an operation selects: `mutation x($r: T!) { field(results: $r) }` → "field". */
function selectedField(query: string): string | undefined {
  const open = query.indexOf("{");
  if (open < 0) return undefined;
  return /^\s*([A-Za-z_]\w*)/.exec(query.slice(open + 1))?.[1];
}

/**
 * Reports are held to the ObservedEgress CRD's limits: a name is at most 253 characters, an
 * address 45, a source at most 2,000 destinations (a workload's cap), a report at most 1,000
 * sources and 20,000 destinations in all. A report over them is refused whole.
 */
export const REPORT_LIMITS = {
  name: 253,
  ip: 45,
  destinationsPerSource: 2000,
  sources: 1000,
  destinations: 20_000,
} as const;

function source(v: unknown, path: string): ReportedSource | string {
  const s = obj(v);
  if (!s || typeof s.srcIp !== "string") return `${path}.srcIp: a string is required`;
  if (s.srcIp.length > REPORT_LIMITS.ip) return `${path}.srcIp: longer than an IP address`;
  if (!Array.isArray(s.destinations)) return `${path}.destinations: a list is required`;
  if (s.destinations.length > REPORT_LIMITS.destinationsPerSource) {
    return `${path}.destinations: more than ${REPORT_LIMITS.destinationsPerSource}`;
  }
  const destinations: ReportedDestination[] = [];
  for (const [i, dv] of s.destinations.entries()) {
    const d = obj(dv);
    const at = `${path}.destinations[${i}]`;
    if (!d || typeof d.destination !== "string") return `${at}.destination: a string is required`;
    if (d.destination.length > REPORT_LIMITS.name) {
      return `${at}.destination: longer than ${REPORT_LIMITS.name} characters`;
    }
    if (typeof d.destinationIP === "string" && d.destinationIP.length > REPORT_LIMITS.ip) {
      return `${at}.destinationIP: longer than an IP address`;
    }
    const lastSeenMs = typeof d.lastSeen === "string" ? parseTimestamp(d.lastSeen) : undefined;
    if (lastSeenMs === undefined) return `${at}.lastSeen: an RFC 3339 time is required`;
    const port = d.destinationPort;
    if (port !== undefined && port !== null && !(Number.isInteger(port) && (port as number) > 0)) {
      return `${at}.destinationPort: a port number is required`;
    }
    destinations.push({
      destination: d.destination,
      ...(typeof d.destinationIP === "string" ? { destinationIP: d.destinationIP } : {}),
      ...(typeof port === "number" ? { destinationPort: port } : {}),
      lastSeenMs,
    });
  }
  return { srcIp: s.srcIp, destinations };
}

/** Reads a GraphQL request body; a string is the error to answer with. */
export function parseSnifferRequest(body: unknown): SnifferRequest | string {
  const b = obj(body);
  if (!b || typeof b.query !== "string") return "a GraphQL request needs a query";
  const field = selectedField(b.query);
  if (!field) return "the query selects no field";
  if (ACKNOWLEDGED.has(field)) return { field };
  if (!REPORTS.has(field)) return `unknown field "${field}"`;
  const results = obj(obj(b.variables)?.results)?.results;
  if (!Array.isArray(results)) return "variables.results.results: a list is required";
  if (results.length > REPORT_LIMITS.sources) {
    return `variables.results.results: more than ${REPORT_LIMITS.sources} sources`;
  }
  let total = 0;
  for (const v of results) {
    const list = obj(v)?.destinations;
    total += Array.isArray(list) ? list.length : 0;
  }
  if (total > REPORT_LIMITS.destinations) {
    return `variables.results.results: more than ${REPORT_LIMITS.destinations} destinations`;
  }
  const sources: ReportedSource[] = [];
  for (const [i, v] of results.entries()) {
    const s = source(v, `results[${i}]`);
    if (typeof s === "string") return s;
    sources.push(s);
  }
  return { field: field as "reportCaptureResults", results: sources };
}

/** The GraphQL answer: `true` for the field, or the error. */
export function snifferResponse(r: SnifferRequest | string): Obj {
  if (typeof r === "string") return { errors: [{ message: r }], data: null };
  return { data: { [r.field]: true } };
}

export type SnifferOutcome =
  | Outcome
  | {
      readonly kind: "connection";
      readonly workload: WorkloadIdentity;
      readonly ip: string;
      readonly port: number;
      readonly timeMs: number;
    };

/**
 * What a report says, destination by destination, received at `now`. Reports are input, not
 * truth: a time after `now` is `now`.
 */
export function snifferOutcomes(
  ctx: AttributionContext,
  r: SnifferRequest,
  now: number,
): SnifferOutcome[] {
  if (!r.results) return [];
  const out: SnifferOutcome[] = [];
  for (const src of r.results) {
    const client = parseIp(src.srcIp);
    for (const d of src.destinations) {
      if (!client) {
        out.push({ kind: "unattributed", why: `"${src.srcIp}" is not an IP address` });
        continue;
      }
      const t = Math.min(d.lastSeenMs, now);
      const destIp = parseIp(d.destination) ?? parseIp(d.destinationIP ?? "");
      const name = parseIp(d.destination) ? undefined : normalizeDomain(d.destination);
      if (r.field === "reportCaptureResults") {
        // A DNS capture: the name and the address it resolved to.
        if (name === undefined) continue;
        out.push(observeResolution(ctx, client.text, name, destIp ? [destIp.text] : [], t));
        continue;
      }
      const pod = ctx.pods.at(client.text, t);
      if (!pod) {
        out.push({ kind: "unattributed", why: `no pod had ${client.text}` });
        continue;
      }
      const port = d.destinationPort;
      // Otterize's socket scanner reports the client's (ephemeral) port: never an internet
      // destination's.
      const scan = r.field === "reportSocketScanResults";
      if (name !== undefined) {
        const o = observeResolution(ctx, client.text, name, destIp ? [destIp.text] : [], t);
        const keep =
          port && !(scan && o.kind === "observation" && o.observation.target.kind === "internet");
        out.push(
          o.kind === "observation" && keep ? { ...o, observation: { ...o.observation, port } } : o,
        );
        continue;
      }
      if (!destIp) continue;
      // A connection to a pod or a Service is in-cluster egress to its workload.
      const peer = ctx.pods.at(destIp.text, t);
      const svc = ctx.services.serviceAt(destIp.text);
      const targets = peer
        ? [
            {
              kind: "kubernetes" as const,
              name: peer.workload.name,
              namespace: peer.workload.namespace,
              ...(peer.workload.kind ? { workloadKind: peer.workload.kind } : {}),
            },
          ]
        : svc
          ? (serviceBackends(ctx.services, ctx.pods, svc.namespace, svc.name) ?? [])
          : [];
      for (const target of targets) {
        out.push({
          kind: "observation",
          observation: { workload: pod.workload, target, timeMs: t, ...(port ? { port } : {}) },
        });
      }
      if (targets.length === 0 && port && !scan) {
        out.push({ kind: "connection", workload: pod.workload, ip: destIp.text, port, timeMs: t });
      }
    }
  }
  return out;
}
