/**
 * The labels and annotations that the webhook, the collector, the plugin and the chart read:
 * one definition each. The chart's webhook entries take theirs from
 * src/admission/registration.ts, which takes them from here.
 */

/** A namespace's gate: `enforce` denies, `warn` allows with warnings (DESIGN: webhook). */
export const GATE_LABEL = "egress.otter.dev/gate";
export const GATE_MODES = ["enforce", "warn"] as const;
export type GateMode = (typeof GATE_MODES)[number];

/** An object annotated so is allowed unjudged, with a warning that gives the reason. */
export const SKIP_ANNOTATION = "egress.otter.dev/skip";

/** Otterize's name for a pod's workload, on the pod (or a workload's pod template). */
export const WORKLOAD_NAME_ANNOTATION = "intents.otterize.com/workload-name";
/** Otterize's older annotation, still read after the current one. */
export const SERVICE_NAME_ANNOTATION = "intents.otterize.com/service-name";

/** The label the API server puts on every namespace: its name. */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/**
 * The workload a pod's annotations name, if they name one: the workload-name annotation, else
 * the older service-name one. The collector names a pod's workload with it, and the webhook a
 * workload's pods (from their template), so that both mean the same workload.
 */
export function workloadNameFromAnnotations(
  annotations: Readonly<Record<string, unknown>>,
): string | undefined {
  const name =
    typeof annotations[WORKLOAD_NAME_ANNOTATION] === "string"
      ? annotations[WORKLOAD_NAME_ANNOTATION]
      : annotations[SERVICE_NAME_ANNOTATION];
  return typeof name === "string" && name !== "" ? name : undefined;
}
