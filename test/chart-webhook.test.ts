import { readFileSync } from "node:fs";
import test from "ava";
import { decide, namespaceContents } from "../src/admission/decide.js";
import { GATED } from "../src/admission/gated.js";
import { chartWebhookJson, WEBHOOK_RULES } from "../src/admission/registration.js";
import { GATE_LABEL } from "../src/labels.js";
import { internet, NOW, observedEgress, parseObserved, WINDOW } from "./helpers/factories.js";
import { request } from "./helpers/review.js";

/**
 * What the webhook receives is defined once (src/admission/gated.ts, registration.ts): the
 * chart's ValidatingWebhookConfiguration reads it from a file written from it, and every kind
 * the API server is asked to send is one the webhook judges. (test/integration/chart.helm-controlplane.test.ts
 * renders the chart with helm and compares the whole configuration.)
 */

const CHART_FILE = "charts/otter-egress/files/webhook.json";

test("the chart's webhook rules are the ones the webhook registers (else: npm run chart:webhook)", (t) => {
  t.is(
    readFileSync(CHART_FILE, "utf8"),
    chartWebhookJson(),
    `${CHART_FILE} is out of date: run npm run chart:webhook`,
  );
});

test("every resource the API server sends is judged: a drifting object of each kind is denied", (t) => {
  const resources = WEBHOOK_RULES.flatMap((r) => r.resources as string[]);
  t.deepEqual(
    resources,
    GATED.map((g) => g.resource),
  );
  const observed = parseObserved([
    observedEgress({ name: "app", destinations: [internet("api.example.com", [], [443])] }),
  ]);
  const ctx = {
    namespaceLabels: { [GATE_LABEL]: "enforce" },
    ...namespaceContents([], observed),
    listening: { state: "live" as const },
    now: NOW,
    windowMs: WINDOW,
    denyOn: new Set(["missing", "unnecessary"] as const),
  };
  for (const g of GATED) {
    const object =
      g.kind === "ClientIntents"
        ? {
            apiVersion: `${g.group}/v2beta1`,
            kind: g.kind,
            metadata: { name: "app", namespace: "dev" },
            spec: { workload: { name: "app" }, targets: [] },
          }
        : { apiVersion: `${g.group}/${g.version}`, kind: g.kind, metadata: { name: "app" } };
    const answer = decide(
      request({ object, kind: { group: g.group, version: "v1", kind: g.kind } }),
      ctx,
    );
    t.false(answer.allowed, g.kind);
    t.regex(answer.message ?? "", /missing api\.example\.com:443/, g.kind);
  }
});
