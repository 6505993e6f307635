import { createHash } from "node:crypto";
import type { WorkloadIdentity } from "./pods.js";

/**
 * The name of a workload's ObservedEgress. Usually the workload's own name; but Otterize names
 * allow what object names do not (an owner `api.v2` is the workload `api_v2`; an annotation may
 * say anything), so such a name is made valid and given a hash of the real one, which
 * `spec.workload.name` keeps.
 */

const VALID = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const MAX = 253;

export function objectNameFor(w: WorkloadIdentity): string {
  if (w.name.length <= MAX && VALID.test(w.name)) return w.name;
  const hash = createHash("sha256").update(w.name).digest("hex").slice(0, 10);
  const base = w.name
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, MAX - hash.length - 1)
    .replace(/[^a-z0-9]+$/, "");
  return base === "" ? `workload-${hash}` : `${base}-${hash}`;
}
