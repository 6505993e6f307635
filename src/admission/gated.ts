import { INTENTS_GROUP } from "../client-intents.js";

/**
 * What the webhook judges, in one place: `decide` judges these kinds and allows any other, and
 * the registration (src/admission/registration.ts: the webhook's `--register` and the chart's
 * rules) asks the API server for exactly these. A kind added here is both sent and judged.
 */

export interface GatedResource {
  readonly group: string;
  /** The versions the API server sends ("*": every served one). */
  readonly version: string;
  /** The resource, as rules name it. */
  readonly resource: string;
  /** The kind, as a review names it. */
  readonly kind: string;
}

export const GATED: readonly GatedResource[] = [
  { group: INTENTS_GROUP, version: "*", resource: "clientintents", kind: "ClientIntents" },
  { group: "apps", version: "v1", resource: "deployments", kind: "Deployment" },
  { group: "apps", version: "v1", resource: "statefulsets", kind: "StatefulSet" },
  { group: "apps", version: "v1", resource: "daemonsets", kind: "DaemonSet" },
  { group: "batch", version: "v1", resource: "cronjobs", kind: "CronJob" },
  { group: "batch", version: "v1", resource: "jobs", kind: "Job" },
];

/** Whether a review's kind is one the webhook judges. */
export function isGated(kind: { readonly group: string; readonly kind: string }): boolean {
  return GATED.some((g) => g.group === kind.group && g.kind === kind.kind);
}

/** Whether the kind is Otterize's ClientIntents (else a workload whose pods are judged). */
export function isClientIntents(kind: { readonly group: string; readonly kind: string }): boolean {
  return kind.group === INTENTS_GROUP && kind.kind === "ClientIntents";
}
