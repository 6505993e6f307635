import test from "ava";
import fc from "fast-check";
import { dump } from "js-yaml";
import { clientIntentsFromDocuments } from "../src/client-intents.js";
import { diffEgress } from "../src/diff.js";
import { observedWorkloads, suggestIntents, type SuggestVersion } from "../src/suggest.js";
import { parseYamlDocuments } from "../src/yaml-documents.js";
import { crdSchemas, schemaErrors } from "./helpers/crd-schema.js";
import { otterizeCrd } from "./controlplane/crds.js";
import {
  ago,
  DAY,
  HOUR,
  internet,
  kube,
  NOW,
  observedEgress,
  parseObserved,
  WINDOW,
} from "./helpers/factories.js";

const schemas = crdSchemas(otterizeCrd());

const worker = observedEgress({
  destinations: [
    kube("redis", "dev", { kind: "StatefulSet", service: "redis", ports: [6379] }),
    kube("nats", "messaging", { kind: "StatefulSet", service: "nats" }),
    internet("api.openai.com", ["104.18.7.192", "104.18.6.192"], [443]),
    internet("dynamodb.eu-west-2.amazonaws.com", ["52.94.56.47"], [443]),
    internet("sts.eu-west-2.amazonaws.com", ["52.94.15.82"], [443, 8443]),
    internet("metrics.example.com", ["203.0.113.9"]),
    internet(undefined, ["52.94.56.47"], [443]), // covered by dynamodb's answer
    internet(undefined, ["198.51.100.7"], [5432]),
    internet("old.example.com", ["203.0.113.1"], [443], ago(30 * DAY)),
  ],
});

function suggest(version: SuggestVersion) {
  const [w] = observedWorkloads(parseObserved([worker]));
  return suggestIntents(w!, { now: NOW, windowMs: WINDOW, apiVersion: version });
}

for (const version of ["v2beta1", "v1alpha3"] as const) {
  test(`suggest writes ${version} that the real CRD schema accepts`, (t) => {
    const ci = suggest(version);
    t.deepEqual(schemaErrors(schemas.get(version)!, ci), []);
    t.snapshot(dump(ci, { lineWidth: -1 }));
  });

  test(`suggest's ${version} intents leave nothing missing and drop what is stale`, (t) => {
    const text = dump(suggest(version));
    t.false(text.includes("old.example.com"));
    const intents = clientIntentsFromDocuments(parseYamlDocuments(text, "s.yaml"), "default");
    const diff = diffEgress({
      intents,
      workloadScope: "declared",
      observed: parseObserved([worker]),
      namespaces: { all: true },
      includeUndeclared: false,
      now: NOW,
      windowMs: WINDOW,
      listening: { state: "snapshot" },
    });
    t.is(diff.summary.missing, 0);
    t.is(diff.summary.unnecessary, 0);
  });
}

// Arbitrary observations of one workload.
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
const dnsName = fc.array(label, { minLength: 2, maxLength: 4 }).map((l) => l.join("."));
const ports = fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { maxLength: 3 });
const seen = fc.integer({ min: 0, max: 20 * DAY }).map((ms) => ago(ms));
const destination = fc.oneof(
  fc
    .record({
      name: dnsName,
      ips: fc.array(fc.oneof(fc.ipV4(), fc.ipV6()), { maxLength: 3 }),
      ports,
      seen,
    })
    .map((d) => internet(d.name, d.ips, d.ports, d.seen)),
  fc
    .record({ ip: fc.oneof(fc.ipV4(), fc.ipV6()), ports, seen })
    .map((d) => internet(undefined, [d.ip], d.ports, d.seen)),
  fc
    .record({
      name: label,
      ns: fc.constantFrom("dev", "prod"),
      kind: fc.constantFrom(undefined, "Deployment", "StatefulSet"),
      service: fc.option(label, { nil: undefined }),
      seen,
    })
    .map((d) =>
      kube(d.name, d.ns, {
        ...(d.kind ? { kind: d.kind } : {}),
        ...(d.service ? { service: d.service } : {}),
        lastSeen: d.seen,
      }),
    ),
);

test("property: for any snapshot, suggested intents leave no missing finding", (t) => {
  fc.assert(
    fc.property(
      fc.array(destination, { maxLength: 12 }),
      fc.constantFrom<SuggestVersion>("v2beta1", "v1alpha3"),
      fc.integer({ min: HOUR, max: 30 * DAY }),
      (destinations, version, windowMs) => {
        const observed = parseObserved([observedEgress({ destinations })]);
        const [w] = observedWorkloads(observed);
        const ci = suggestIntents(w!, { now: NOW, windowMs, apiVersion: version });
        if (schemaErrors(schemas.get(version)!, ci).length > 0) return false;
        const intents = clientIntentsFromDocuments(
          parseYamlDocuments(dump(ci), "s.yaml"),
          "default",
        );
        const diff = diffEgress({
          intents,
          workloadScope: "declared",
          observed,
          namespaces: { all: true },
          includeUndeclared: false,
          now: NOW,
          windowMs,
          listening: { state: "snapshot" },
        });
        return diff.summary.missing === 0;
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});
