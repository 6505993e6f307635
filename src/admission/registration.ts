import { INTENTS_GROUP } from "../client-intents.js";
import { GATE_LABEL, GATE_MODES, NAMESPACE_NAME_LABEL, SKIP_ANNOTATION } from "../labels.js";
import type { Obj } from "../shape.js";
import { GATED } from "./gated.js";

/**
 * What the API server is told about the webhook (DESIGN: webhook contract), in one place: the
 * webhook's `--register` mode writes it, and the chart's ValidatingWebhookConfiguration reads
 * its rules, match conditions and labels from `charts/otter-egress/files/webhook.json`, which
 * `npm run chart:webhook` writes from `chartWebhookJson` (a unit test fails when they differ).
 *
 * - Two entries: `enforce` namespaces with the chosen failure policy, `warn` namespaces always
 *   failing open, so an outage never blocks a namespace that only asked for warnings.
 * - `matchConditions` keep from the webhook what it would allow anyway: objects being deleted
 *   (finalizers coming off), updates that change nothing that decides egress (metadata, status,
 *   replicas, suspend), and Jobs made by a CronJob (the CronJob is gated).
 */

const OPERATIONS = ["CREATE", "UPDATE"];

/** The rules: every gated resource (src/admission/gated.ts), one rule per group and version. */
export const WEBHOOK_RULES: readonly Obj[] = (() => {
  const rules = new Map<string, { group: string; version: string; resources: string[] }>();
  for (const g of GATED) {
    const key = `${g.group}/${g.version}`;
    const rule = rules.get(key) ?? { group: g.group, version: g.version, resources: [] };
    rule.resources.push(g.resource);
    rules.set(key, rule);
  }
  return [...rules.values()].map((r) => ({
    apiGroups: [r.group],
    apiVersions: [r.version],
    operations: OPERATIONS,
    resources: r.resources,
  }));
})();

/** The skip annotation: "set:" and its value, or "unset" (CEL). */
const skip = (o: string) =>
  `(has(${o}.metadata.annotations) && '${SKIP_ANNOTATION}' in ${o}.metadata.annotations ` +
  `? 'set:' + ${o}.metadata.annotations['${SKIP_ANNOTATION}'] : 'unset')`;

/**
 * What decides egress, by resource (CEL): as src/admission/decide.ts's egressSpec. A
 * ClientIntents may have no spec (no version of its CRD requires one): never an error, which
 * would be the failure policy's answer.
 */
const egressSpec = (o: string) =>
  `(request.resource.group == '${INTENTS_GROUP}' ? (has(${o}.spec) ? ${o}.spec : null) ` +
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

/** Namespaces never gated, beside the webhook's own: the control plane's. */
export const ALWAYS_EXEMPT: readonly string[] = ["kube-system"];

/** The namespaces never gated, given the webhook's own. */
export function exemptNamespaces(own: string): string[] {
  return [own, ...ALWAYS_EXEMPT.filter((n) => n !== own)];
}

/** Only namespaces that opted into this mode, never an exempt one. */
function namespaceSelector(mode: string, exempt: readonly string[]): Obj {
  return {
    matchExpressions: [
      { key: GATE_LABEL, operator: "In", values: [mode] },
      ...(exempt.length > 0
        ? [{ key: NAMESPACE_NAME_LABEL, operator: "NotIn", values: [...exempt] }]
        : []),
    ],
  };
}

/** The two webhook entries, given where the API server reaches the webhook. */
export function webhookEntries(opts: {
  /** How the API server reaches the webhook, given the path of an entry. */
  readonly clientConfig: (path: string) => Obj;
  readonly failurePolicy: string;
  readonly timeoutSeconds: number;
  /** Namespaces never gated (exemptNamespaces: the webhook's own, kube-system). */
  readonly exempt: readonly string[];
}): Obj[] {
  return GATE_MODES.map((mode) => ({
    name: WEBHOOK_NAMES[mode],
    // Each entry its own path: the webhook then knows a warn review, which it always allows.
    clientConfig: opts.clientConfig(`/validate/${mode}`),
    rules: WEBHOOK_RULES,
    namespaceSelector: namespaceSelector(mode, opts.exempt),
    matchConditions: MATCH_CONDITIONS,
    // An outage never blocks a namespace that only asked for warnings.
    failurePolicy: mode === "warn" ? "Ignore" : opts.failurePolicy,
    timeoutSeconds: opts.timeoutSeconds,
    sideEffects: "None",
    admissionReviewVersions: ["v1"],
  }));
}

/**
 * What the chart's ValidatingWebhookConfiguration reads (`charts/otter-egress/files/webhook.json`):
 * everything of the entries that is not a chart value or the release's namespace.
 */
export function chartWebhookJson(): string {
  const data = {
    comment: "Written by `npm run chart:webhook` from src/admission/registration.ts: do not edit.",
    names: WEBHOOK_NAMES,
    gateLabel: GATE_LABEL,
    namespaceNameLabel: NAMESPACE_NAME_LABEL,
    alwaysExempt: ALWAYS_EXEMPT,
    rules: WEBHOOK_RULES,
    matchConditions: MATCH_CONDITIONS,
  };
  return `${JSON.stringify(data, null, 2)}\n`;
}
