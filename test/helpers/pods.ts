import { podRecord, type OwnerLookup, type PodRecord } from "../../src/collector/pods.js";

/** Fixture factories for the collector: pod objects as the API server returns them. */

export interface PodOptions {
  name: string;
  namespace?: string;
  ip?: string;
  ips?: string[];
  /** The controller owner: "ReplicaSet/web-7d9f8", "StatefulSet/db", … */
  owner?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  start?: string;
  deleted?: string;
  hostNetwork?: boolean;
  uid?: string;
}

export function podObject(o: PodOptions): Record<string, unknown> {
  const [kind, ownerName] = o.owner?.split("/") ?? [];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: o.name,
      namespace: o.namespace ?? "dev",
      uid: o.uid ?? `uid-${o.namespace ?? "dev"}-${o.name}`,
      creationTimestamp: o.start ?? "2026-11-20T00:00:00Z",
      ...(o.deleted ? { deletionTimestamp: o.deleted } : {}),
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(kind
        ? {
            ownerReferences: [
              { apiVersion: "apps/v1", kind, name: ownerName, uid: "owner", controller: true },
            ],
          }
        : {}),
    },
    spec: { containers: [{ name: "app", image: "app" }], hostNetwork: o.hostNetwork ?? false },
    status: {
      phase: "Running",
      ...(o.start ? { startTime: o.start } : {}),
      ...(o.ip ? { podIP: o.ip } : {}),
      ...(o.ips ? { podIPs: o.ips.map((ip) => ({ ip })) } : {}),
    },
  };
}

/** Owners of ReplicaSets and Jobs, given as "ReplicaSet/web-7d9f8" → "Deployment/web". */
export function owners(map: Record<string, string> = {}): OwnerLookup {
  return (_ns, kind, name) => {
    const up = map[`${kind}/${name}`];
    if (!up) return undefined;
    const [k = "", n = ""] = up.split("/");
    return { kind: k, name: n, controller: true };
  };
}

export function pod(o: PodOptions, lookup: OwnerLookup = owners()): PodRecord {
  const r = podRecord(podObject(o), lookup);
  if (!r) throw new Error(`pod ${o.name} has no IP`);
  return r;
}
