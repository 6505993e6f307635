import type { Obj } from "../shape.js";

/**
 * What the API server is told about the webhook (DESIGN: webhook contract), in one place: the
 * chart's ValidatingWebhookConfiguration is checked against it (test/chart.test.ts), and the
 * webhook's `--register` mode writes it.
 *
 * - Two entries: `enforce` namespaces with the chosen failure policy, `warn` namespaces always
 *   failing open, so an outage never blocks a namespace that only asked for warnings.
 * - `matchConditions` keep from the webhook what it would allow anyway: objects being deleted
 *   (finalizers coming off), updates that change nothing that decides egress (metadata, status,
 *   replicas, suspend), and Jobs made by a CronJob (the CronJob is gated).
 */

const OPERATIONS = ["CREATE", "UPDATE"];

export const WEBHOOK_RULES: readonly Obj[] = [
  {
    apiGroups: ["k8s.otterize.com"],
    apiVersions: ["*"],
    operations: OPERATIONS,
    resources: ["clientintents"],
  },
  {
    apiGroups: ["apps"],
    apiVersions: ["v1"],
    operations: OPERATIONS,
    resources: ["deployments", "statefulsets", "daemonsets"],
  },
  {
    apiGroups: ["batch"],
    apiVersions: ["v1"],
    operations: OPERATIONS,
    resources: ["cronjobs", "jobs"],
  },
];

/** The skip annotation's value, or "" (CEL). */
const skip = (o: string) =>
  `(has(${o}.metadata.annotations) && 'egress.otter.dev/skip' in ${o}.metadata.annotations ` +
  `? ${o}.metadata.annotations['egress.otter.dev/skip'] : '')`;

/** What decides egress, by resource (CEL): as src/admission/decide.ts's egressSpec. */
const egressSpec = (o: string) =>
  `(request.resource.group == 'k8s.otterize.com' ? ${o}.spec ` +
  `: request.resource.resource == 'cronjobs' ? ${o}.spec.jobTemplate.spec : ${o}.spec.template)`;

export const MATCH_CONDITIONS: readonly Obj[] = [
  { name: "not-being-deleted", expression: "!has(object.metadata.deletionTimestamp)" },
  {
    name: "not-a-cronjob-run",
    expression:
      "!has(object.metadata.ownerReferences) || " +
      "!object.metadata.ownerReferences.exists(r, r.kind == 'CronJob')",
  },
  {
    name: "egress-may-change",
    expression:
      `request.operation == 'CREATE' || ${egressSpec("object")} != ${egressSpec("oldObject")} || ` +
      `${skip("object")} != ${skip("oldObject")}`,
  },
];

export const WEBHOOK_NAMES = {
  enforce: "enforce.egress.otter.dev",
  warn: "warn.egress.otter.dev",
} as const;

/** The two webhook entries, given where the API server reaches the webhook. */
export function webhookEntries(opts: {
  readonly clientConfig: Obj;
  readonly failurePolicy: string;
  readonly timeoutSeconds: number;
  /** Namespaces never gated (the webhook's own, kube-system). */
  readonly exempt: readonly string[];
}): Obj[] {
  const entry = (mode: "enforce" | "warn", failurePolicy: string): Obj => ({
    name: WEBHOOK_NAMES[mode],
    clientConfig: opts.clientConfig,
    rules: WEBHOOK_RULES,
    namespaceSelector: {
      matchExpressions: [
        { key: "egress.otter.dev/gate", operator: "In", values: [mode] },
        ...(opts.exempt.length > 0
          ? [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: [...opts.exempt] }]
          : []),
      ],
    },
    matchConditions: MATCH_CONDITIONS,
    failurePolicy,
    timeoutSeconds: opts.timeoutSeconds,
    sideEffects: "None",
    admissionReviewVersions: ["v1"],
  });
  return [entry("enforce", opts.failurePolicy), entry("warn", "Ignore")];
}
