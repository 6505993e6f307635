import test from "ava";
import { diffEgress } from "../src/diff.js";
import {
  ago,
  clientIntents,
  DAY,
  diffInput,
  internet,
  observedEgress,
  parseIntents,
  parseObserved,
} from "./helpers/factories.js";

const input = diffInput;

const names = (d: ReturnType<typeof diffEgress>) =>
  d.workloads.map((w) => `${w.workload.namespace}/${w.workload.name}/${w.workload.kind ?? ""}`);

test("with files, the scope is what the files declare", (t) => {
  const intents = parseIntents([clientIntents({ name: "a" })]);
  const observed = parseObserved([
    observedEgress({ name: "a" }),
    observedEgress({ name: "b", destinations: [internet("x.com")] }),
  ]);
  t.deepEqual(names(diffEgress(input({ intents, observed }))), ["dev/a/Deployment"]);
  t.deepEqual(names(diffEgress(input({ intents, observed, includeUndeclared: true }))), [
    "dev/a/Deployment",
    "dev/b/Deployment",
  ]);
});

test("--include-undeclared only adds workloads of the intents' namespaces", (t) => {
  const intents = parseIntents([clientIntents({ name: "a" })]);
  const observed = parseObserved([observedEgress({ name: "c", namespace: "prod" })]);
  t.deepEqual(names(diffEgress(input({ intents, observed, includeUndeclared: true }))), ["dev/a/"]);
});

test("from the cluster, every observed workload of the selected namespaces is in scope", (t) => {
  const intents = parseIntents([
    clientIntents({ name: "a" }),
    clientIntents({ name: "z", namespace: "prod" }),
  ]);
  const observed = parseObserved([
    observedEgress({ name: "b" }),
    observedEgress({ name: "c", namespace: "prod" }),
  ]);
  const d = diffEgress(
    input({
      intents,
      observed,
      workloadScope: "namespaces",
      namespaces: { all: false, names: ["dev"] },
    }),
  );
  t.deepEqual(names(d), ["dev/a/", "dev/b/Deployment"]);
});

test("an observed workload with no ClientIntents has all its recent destinations missing", (t) => {
  const observed = parseObserved([
    observedEgress({
      name: "b",
      destinations: [
        internet("x.com"),
        internet("y.com"),
        internet("old.com", [], [], ago(30 * DAY)),
      ],
    }),
  ]);
  const d = diffEgress(input({ observed, workloadScope: "namespaces" }));
  t.deepEqual(
    d.workloads[0]?.findings.map((f) => f.verdict),
    ["missing", "missing"],
  );
  t.is(d.workloads[0]?.intents, undefined);
});

test("the kind is compared only when the ClientIntents names one", (t) => {
  const observed = parseObserved([
    observedEgress({ name: "a", kind: "StatefulSet", destinations: [internet("x.com")] }),
  ]);
  const untyped = diffEgress(
    input({
      intents: parseIntents([
        clientIntents({ name: "a", targets: [{ internet: { domains: ["x.com"] } }] }),
      ]),
      observed,
    }),
  );
  t.deepEqual(
    untyped.workloads[0]?.findings.map((f) => f.verdict),
    ["matched"],
  );
  const wrongKind = diffEgress(
    input({
      intents: parseIntents([
        clientIntents({
          name: "a",
          kind: "Deployment",
          targets: [{ internet: { domains: ["x.com"] } }],
        }),
      ]),
      observed,
    }),
  );
  t.deepEqual(
    wrongKind.workloads[0]?.findings.map((f) => f.verdict),
    ["unverified"],
    "the StatefulSet's observations are not the Deployment's",
  );
});

test("several ClientIntents of one workload add up", (t) => {
  const intents = parseIntents([
    clientIntents({ name: "a", targets: [{ internet: { domains: ["x.com"] } }] }),
    {
      ...clientIntents({ name: "a", targets: [{ internet: { domains: ["y.com"] } }] }),
      metadata: { name: "a-extra", namespace: "dev" },
    },
  ]);
  const observed = parseObserved([
    observedEgress({ name: "a", destinations: [internet("x.com"), internet("y.com")] }),
  ]);
  const d = diffEgress(input({ intents, observed }));
  t.deepEqual(
    d.workloads[0]?.findings.map((f) => f.verdict),
    ["matched", "matched"],
  );
  t.is(d.summary.workloads, 1);
});

test("the summary counts every verdict", (t) => {
  const intents = parseIntents([
    clientIntents({
      name: "a",
      targets: [{ internet: { domains: ["x.com"] } }, { aws: { arn: "arn:x" } }],
    }),
  ]);
  const observed = parseObserved([
    observedEgress({ name: "a", destinations: [internet("y.com")] }),
  ]);
  const d = diffEgress(input({ intents, observed }));
  t.deepEqual(d.summary, {
    workloads: 1,
    missing: 1,
    unnecessary: 0,
    unverified: 1,
    matched: 0,
    "n/a": 1,
  });
});

test("findings judged when read (a big JSON report) are the findings judged at once, and are not kept", (t) => {
  const intents = parseIntents([
    clientIntents({ name: "a", targets: [{ internet: { domains: ["x.com", "gone.com"] } }] }),
  ]);
  const observed = parseObserved([
    observedEgress({ name: "a", destinations: [internet("x.com"), internet("y.com")] }),
    observedEgress({ name: "b", destinations: [internet("z.com")] }),
  ]);
  const base = { intents, observed, includeUndeclared: true };
  const atOnce = diffEgress(input(base));
  const whenRead = diffEgress(input({ ...base, findingsWhenRead: true }));
  t.deepEqual(JSON.parse(JSON.stringify(whenRead)), JSON.parse(JSON.stringify(atOnce)));
  t.deepEqual(whenRead.summary, atOnce.summary);
  const [first] = whenRead.workloads;
  t.deepEqual(first?.findings, first?.findings);
  t.not(first?.findings, first?.findings, "judged again when read again: nothing is held");
});
