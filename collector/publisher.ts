import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { mergeDeclared, type DeclaredEntry } from "../src/collector/declared.js";
import type { WorkloadSnapshot } from "../src/collector/egress-state.js";
import type { WorkloadIdentity } from "../src/collector/pods.js";
import { mergeStatus } from "../src/collector/status.js";
import { objectNameFor } from "../src/collector/object-name.js";
import type { CollectorMetrics } from "./metrics.js";

/**
 * Writes ObservedEgress: creates the object when the workload has none and has egress or
 * declared items (a workload that did nothing gets no object), then replaces its
 * status subresource with what is stored merged with what this collector holds. The write
 * carries the resourceVersion it merged with, so a concurrent writer makes it fail with a
 * conflict; it then reads and merges again. No writer loses another's data.
 */

export const GROUP = "egress.otter.dev";
export const VERSION = "v1alpha1";
export const PLURAL = "observedegresses";
const ATTEMPTS = 8;

type Obj = Record<string, unknown>;
const code = (e: unknown) => (e as { code?: number }).code;

/** "skipped": the workload has no object, and nothing (no egress, nothing declared) needs one. */
export type WriteResult = "written" | "unchanged" | "skipped";

export class Publisher {
  private readonly api: CustomObjectsApi;

  constructor(
    kc: KubeConfig,
    private readonly metrics: CollectorMetrics,
  ) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  private async read(w: WorkloadIdentity): Promise<Obj | undefined> {
    try {
      return (await this.api.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: w.namespace,
        name: objectNameFor(w),
      })) as Obj;
    } catch (e) {
      if (code(e) === 404) return undefined;
      throw e;
    }
  }

  private async create(w: WorkloadIdentity): Promise<Obj | undefined> {
    try {
      return (await this.api.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: w.namespace,
        body: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: "ObservedEgress",
          metadata: {
            name: objectNameFor(w),
            namespace: w.namespace,
            labels: { "app.kubernetes.io/managed-by": "otter-egress-collector" },
          },
          spec: { workload: { name: w.name, ...(w.kind ? { kind: w.kind } : {}) } },
        },
      })) as Obj;
    } catch (e) {
      // Another replica created it first: read theirs.
      if (code(e) === 409) return undefined;
      throw e;
    }
  }

  /**
   * Publishes a workload's observations (snapshot) and/or its declared items. Throws when
   * the API server refuses for another reason than a conflict, or conflicts persist.
   */
  async publish(
    w: WorkloadIdentity,
    snapshot: WorkloadSnapshot | undefined,
    declared: readonly DeclaredEntry[] | undefined,
    now: () => number = Date.now,
  ): Promise<WriteResult> {
    const needed = (snapshot?.destinations.length ?? 0) > 0 || (declared?.length ?? 0) > 0;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const found = await this.read(w);
      if (!found && !needed) return "skipped";
      const object = found ?? (await this.create(w));
      if (!object) continue;
      const stored = (object.status ?? {}) as Obj;
      const t = now();
      const merged = mergeStatus(stored, snapshot, t);
      const d = declared ? mergeDeclared(stored.declared, declared, w.namespace, t) : undefined;
      if (!merged.changed && !d?.changed) return "unchanged";
      const status = d ? { ...merged.status, declared: d.declared } : merged.status;
      try {
        await this.api.replaceNamespacedCustomObjectStatus({
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          namespace: w.namespace,
          name: objectNameFor(w),
          body: { ...object, status },
        });
        return "written";
      } catch (e) {
        if (code(e) !== 409) throw e;
        this.metrics.inc("otter_egress_collector_conflicts_total");
      }
    }
    throw new Error(
      `ObservedEgress ${w.namespace}/${w.name}: still conflicting after ${ATTEMPTS} attempts`,
    );
  }
}
