import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { mergeDeclared, type DeclaredEntry } from "../src/collector/declared.js";
import {
  DEFAULT_LIMITS,
  type Limits,
  type WorkloadSnapshot,
} from "../src/collector/egress-state.js";
import type { WorkloadIdentity } from "../src/collector/pods.js";
import { mergeStatus } from "../src/collector/status.js";
import { objectNameFor } from "../src/collector/object-name.js";
import type { ApiRate } from "./api-rate.js";
import type { CollectorMetrics } from "./metrics.js";
import {
  OBSERVED_GROUP as GROUP,
  OBSERVED_PLURAL as PLURAL,
  OBSERVED_VERSION as VERSION,
} from "../src/observed-egress.js";

/**
 * Writes ObservedEgress: creates the object when the workload has none and has egress or
 * declared items (a workload that did nothing gets no object), then replaces its
 * status subresource with what is stored merged with what this collector holds. The write
 * carries the resourceVersion it merged with, so a concurrent writer makes it fail with a
 * conflict; it then reads and merges again. No writer loses another's data.
 */

const ATTEMPTS = 8;

type Obj = Record<string, unknown>;
const code = (e: unknown) => (e as { code?: number }).code;

/**
 * "skipped": the workload has no object, and nothing (no egress, nothing declared) needs one.
 * "refused": the API server refused every write with this workload's new destinations in it.
 */
export type WriteResult = "written" | "unchanged" | "skipped" | "refused";

function withCut(truncated: unknown, cut: string): string {
  const cuts = new Set(
    typeof truncated === "string" && truncated !== "" ? truncated.split("; ") : [],
  );
  cuts.add(cut);
  return [...cuts].sort().join("; ").slice(0, 1024);
}

/** The API server's answer to a write it will never accept (invalid, too large). */
const refusal = (e: unknown) => code(e) === 422 || code(e) === 413;

export interface Refused {
  /** Keys of the destinations dropped because every write with them was refused. */
  readonly keys: readonly string[];
}

export class Publisher {
  private readonly api: CustomObjectsApi;

  constructor(
    kc: KubeConfig,
    private readonly metrics: CollectorMetrics,
    private readonly log: (entry: Record<string, unknown>) => void = () => undefined,
    private readonly rate?: ApiRate,
    private readonly limits: Limits = DEFAULT_LIMITS,
  ) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  private limited<T>(request: () => Promise<T>): Promise<T> {
    return this.rate ? this.rate.call(request) : request();
  }

  private async read(w: WorkloadIdentity): Promise<Obj | undefined> {
    try {
      return (await this.limited(() =>
        this.api.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          namespace: w.namespace,
          name: objectNameFor(w),
        }),
      )) as Obj;
    } catch (e) {
      if (code(e) === 404) return undefined;
      throw e;
    }
  }

  private async create(w: WorkloadIdentity): Promise<Obj | undefined> {
    try {
      return (await this.limited(() =>
        this.api.createNamespacedCustomObject({
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
        }),
      )) as Obj;
    } catch (e) {
      // Another replica created it first: read theirs.
      if (code(e) === 409) return undefined;
      throw e;
    }
  }

  /**
   * Publishes a workload's observations (snapshot) and/or its declared items. A write the API
   * server refuses (invalid, too large) never blocks the workload: its new destinations are
   * halved until each part is written or is one destination, which is dropped and counted
   * (`onRefused` hears which). Throws when the API server fails otherwise, or conflicts persist.
   */
  async publish(
    w: WorkloadIdentity,
    snapshot: WorkloadSnapshot | undefined,
    declared: readonly DeclaredEntry[] | undefined,
    now: () => number = Date.now,
    onRefused: (r: Refused) => void = () => undefined,
  ): Promise<WriteResult> {
    try {
      return await this.write(w, snapshot, declared, now);
    } catch (e) {
      if (!refusal(e)) throw e;
      const items = snapshot?.destinations ?? [];
      if (!snapshot || items.length === 0) {
        this.refused(w, e, []);
        return "refused";
      }
      // Only new destinations may be blamed: if the write is refused without them too, the
      // fault is elsewhere (what is stored, what is declared), and none of them is dropped.
      try {
        await this.write(w, { ...snapshot, destinations: [] }, declared, now, true);
      } catch (e2) {
        if (!refusal(e2)) throw e2;
        this.refused(w, e2, []);
        return "refused";
      }
      const dropped: string[] = [];
      const result = await this.halve(w, snapshot, declared, now, items, dropped);
      onRefused({ keys: dropped });
      return result;
    }
  }

  private async halve(
    w: WorkloadIdentity,
    snapshot: WorkloadSnapshot,
    declared: readonly DeclaredEntry[] | undefined,
    now: () => number,
    items: WorkloadSnapshot["destinations"],
    dropped: string[],
  ): Promise<WriteResult> {
    try {
      return await this.write(w, { ...snapshot, destinations: items }, declared, now);
    } catch (e) {
      if (!refusal(e)) throw e;
      if (items.length <= 1) {
        this.refused(
          w,
          e,
          items.map((d) => d.key),
        );
        dropped.push(...items.map((d) => d.key));
        return "refused";
      }
      const half = items.length >> 1;
      const a = await this.halve(w, snapshot, declared, now, items.slice(0, half), dropped);
      const b = await this.halve(w, snapshot, declared, now, items.slice(half), dropped);
      return a === "written" || b === "written" ? "written" : a === "refused" ? b : a;
    }
  }

  private refused(w: WorkloadIdentity, e: unknown, keys: readonly string[]): void {
    this.metrics.inc("otter_egress_collector_items_dropped_total", 'reason="refused"', keys.length);
    this.log({
      level: "warn",
      msg: "the API server refused an ObservedEgress write",
      workload: `${w.namespace}/${w.name}`,
      ...(keys.length > 0 ? { dropped: keys } : {}),
      error: String((e as { body?: unknown }).body ?? e).slice(0, 500),
    });
  }

  private async write(
    w: WorkloadIdentity,
    snapshot: WorkloadSnapshot | undefined,
    declared: readonly DeclaredEntry[] | undefined,
    now: () => number = Date.now,
    /** Write even when nothing changed (to learn whether the API server takes it). */
    force = false,
  ): Promise<WriteResult> {
    const needed = (snapshot?.destinations.length ?? 0) > 0 || (declared?.length ?? 0) > 0;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const found = await this.read(w);
      if (!found && !needed) return "skipped";
      // Created by another writer first: theirs is read at once (a retry is for conflicts).
      const object = found ?? (await this.create(w)) ?? (await this.read(w));
      if (!object) continue;
      const stored = (object.status ?? {}) as Obj;
      const t = now();
      const merged = mergeStatus(stored, snapshot, t, this.limits);
      if (merged.invalid > 0 && attempt === 1) {
        this.metrics.inc(
          "otter_egress_collector_items_dropped_total",
          'reason="invalid"',
          merged.invalid,
        );
      }
      const d = declared ? mergeDeclared(stored.declared, declared, w.namespace, t) : undefined;
      if (!merged.changed && !d?.changed && !force) return "unchanged";
      const status = d
        ? {
            ...merged.status,
            declared: d.declared,
            ...(d.cut ? { truncated: withCut(merged.status.truncated, "declared") } : {}),
          }
        : merged.status;
      try {
        await this.limited(() =>
          this.api.replaceNamespacedCustomObjectStatus({
            group: GROUP,
            version: VERSION,
            plural: PLURAL,
            namespace: w.namespace,
            name: objectNameFor(w),
            body: { ...object, status },
          }),
        );
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
