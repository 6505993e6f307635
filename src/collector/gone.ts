import type { Obj } from "../shape.js";

/**
 * Which ObservedEgress belong to workloads that are gone (for the collector's clean-up): pure,
 * over the stored object and what the informers say is alive.
 */

/**
 * When an ObservedEgress was last touched (updatedAt, or its latest sighting), if its workload
 * is gone; undefined while the workload is alive.
 */
export function goneSince(
  o: Obj,
  alive: ReadonlySet<string>,
  owned: ReadonlySet<string>,
): number | undefined {
  const meta = (o.metadata ?? {}) as { namespace?: string };
  const w = ((o.spec as Obj | undefined)?.workload ?? {}) as { name?: unknown; kind?: unknown };
  if (typeof w.name !== "string" || typeof meta.namespace !== "string") return undefined;
  if (alive.has(`${meta.namespace}/${w.name}`)) return undefined;
  if (typeof w.kind === "string" && owned.has(`${w.kind}:${meta.namespace}/${w.name}`))
    return undefined;
  const status = (o.status ?? {}) as { updatedAt?: unknown; destinations?: unknown };
  let last = typeof status.updatedAt === "string" ? Date.parse(status.updatedAt) : NaN;
  if (Array.isArray(status.destinations)) {
    for (const d of status.destinations as Array<{ lastSeen?: unknown }>) {
      const t = typeof d.lastSeen === "string" ? Date.parse(d.lastSeen) : NaN;
      if (!Number.isNaN(t) && (Number.isNaN(last) || t > last)) last = t;
    }
  }
  const created = Date.parse(
    String((o.metadata as { creationTimestamp?: unknown }).creationTimestamp ?? ""),
  );
  if (Number.isNaN(last)) last = created;
  return Number.isNaN(last) ? undefined : last;
}
