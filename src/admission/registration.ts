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

/** The skip annotation: "set:" and its value, or "unset" (CEL). */
const skip = (o: string) =>
  `(has(${o}.metadata.annotations) && 'egress.otter.dev/skip' in ${o}.metadata.annotations ` +
  `? 'set:' + ${o}.metadata.annotations['egress.otter.dev/skip'] : 'unset')`;

/**
 * What decides egress, by resource (CEL): as src/admission/decide.ts's egressSpec. A
 * ClientIntents may have no spec (no version of its CRD requires one): never an error, which
 * would be the failure policy's answer.
 */
const egressSpec = (o: string) =>
  `(request.resource.group == 'k8s.otterize.com' ? (has(${o}.spec) ? ${o}.spec : null) ` +
  `: request.resource.resource == 'cronjobs' ? ${o}.spec.jobTemplate.spec : ${o}.spec.template)`;

export const MATCH_CONDITIONS: readonly Obj[] = [
  { name: "not-being-deleted", expression: "!has(object.metadata.deletionTimestamp)" },
  {
    // Only a Job, and only one a CronJob controls: an owner reference on anything else
    // exempts nothing.
    name: "not-a-cronjob-run",
    expression:
      "request.resource.resource != 'jobs' || !has(object.metadata.ownerReferences) || " +
      "!object.metadata.ownerReferences.exists(r, r.kind == 'CronJob' && has(r.controller) && r.controller)",
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
  /** How the API server reaches the webhook, given the path of an entry. */
  readonly clientConfig: (path: string) => Obj;
  readonly failurePolicy: string;
  readonly timeoutSeconds: number;
  /** Namespaces never gated (the webhook's own, kube-system). */
  readonly exempt: readonly string[];
}): Obj[] {
  const entry = (mode: "enforce" | "warn", failurePolicy: string): Obj => ({
    name: WEBHOOK_NAMES[mode],
    // Each entry its own path: the webhook then knows a warn review, which it always allows.
    clientConfig: opts.clientConfig(`/validate/${mode}`),
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
