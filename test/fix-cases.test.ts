import test, { type ExecutionContext } from "ava";
import { clientIntentsFromDocuments } from "../src/client-intents.js";
import { diffEgress, type DiffInput } from "../src/diff.js";
import { InputError } from "../src/errors.js";
import { applyFix, planFix } from "../src/fix/plan.js";
import { parseYamlDocuments } from "../src/yaml-documents.js";
import {
  ago,
  DAY,
  diffInput,
  internet,
  kube,
  observedEgress,
  parseObserved,
} from "./helpers/factories.js";

/**
 * --fix on the shapes real files take: several targets or objects on one line, keys with empty
 * values, CRLF, no final line break, flow lists over several lines with comments, JSON indented
 * by 4. Workload dev/w calls keep.example.com, new.example.com:443 and redis; old.example.com,
 * 9.9.9.9 and the kubernetes target `gone` were declared a month ago and never used.
 */

const observed = parseObserved([
  observedEgress({
    name: "w",
    destinations: [
      internet("keep.example.com", ["1.1.1.1"], [443]),
      internet("new.example.com", ["2.2.2.2"], [443]),
      kube("redis", "dev", { kind: "StatefulSet", service: "redis" }),
    ],
    declared: [
      [{ internet: { domains: ["old.example.com"] } }, ago(60 * DAY)],
      [{ internet: { ips: ["9.9.9.9"] } }, ago(60 * DAY)],
      [{ kubernetes: { name: "gone.dev" } }, ago(60 * DAY)],
      [{ internet: { domains: ["keep.example.com"] } }, ago(60 * DAY)],
    ],
  }),
]);

function input(text: string, file: string): DiffInput {
  return diffInput({
    intents: clientIntentsFromDocuments(parseYamlDocuments(text, file), "dev"),
    observed,
  });
}

/** --fix on one file: the new text, checked to leave nothing missing or unnecessary. */
function fix(t: ExecutionContext, text: string, file = "w.yaml"): string {
  const plan = planFix({
    diff: diffEgress(input(text, file)),
    texts: new Map([[file, text]]),
    newFile: () => "new.yaml",
  });
  const after = applyFix(text, plan, file);
  const left = diffEgress(input(after, file))
    .workloads.flatMap((w) =>
      w.findings.map((f) => `${w.workload.name} ${f.verdict} ${JSON.stringify(f.target)}`),
    )
    .filter((f) => / (missing|unnecessary) /.test(f));
  t.deepEqual(left, [], after);
  return after;
}

const HEAD =
  "apiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\nmetadata: {name: w, namespace: dev}\nspec:\n  workload: {name: w}\n";

test("targets sharing a line: the one that holds the unused item goes, not the first on the line", (t) => {
  const after = fix(
    t,
    `${HEAD}  targets: [{service: {name: redis}}, {internet: {domains: [keep.example.com]}}, {kubernetes: {name: gone}}]\n`,
  );
  t.is(
    after,
    `${HEAD}  targets: [{service: {name: redis}}, {internet: {domains: [keep.example.com]}}, {"internet":{"domains":["new.example.com"],"ports":[443]}}]\n`,
  );
});

test("a minified List: the missing target goes to its own workload's ClientIntents", (t) => {
  const other = {
    apiVersion: "k8s.otterize.com/v2beta1",
    kind: "ClientIntents",
    metadata: { name: "other", namespace: "dev" },
    spec: { workload: { name: "other" }, targets: [{ service: { name: "redis" } }] },
  };
  const w = {
    ...other,
    metadata: { name: "w", namespace: "dev" },
    spec: { workload: { name: "w" }, targets: [{ service: { name: "redis" } }] },
  };
  const text = JSON.stringify({ apiVersion: "v1", kind: "List", items: [other, w] }) + "\n";
  const after = JSON.parse(fix(t, text, "w.json")) as {
    items: Array<{ spec: { targets: unknown[] } }>;
  };
  t.deepEqual(
    after.items[0]?.spec.targets,
    [{ service: { name: "redis" } }],
    "the other workload gains nothing",
  );
  t.is(after.items[1]?.spec.targets.length, 2);
});

test("a ClientIntentsList is edited like a List", (t) => {
  const text = `apiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntentsList\nitems:\n- apiVersion: k8s.otterize.com/v2beta1\n  kind: ClientIntents\n  metadata: {name: w, namespace: dev}\n  spec:\n    workload: {name: w}\n    targets:\n    - service: {name: redis}\n    - internet: {domains: [keep.example.com, new.example.com], ports: [443]}\n    - kubernetes: {name: gone}\n`;
  t.false(fix(t, text).includes("gone"));
});

test("a key with an empty value (`ports:`) does not pull the next lines into an edit", (t) => {
  const text = `${HEAD}  targets:\n    - service: {name: redis}\n    - internet:\n        domains:\n          - keep.example.com\n          - new.example.com\n        ports:\n    - internet:\n        domains:\n          - old.example.com\n        ports:\n`;
  t.is(
    fix(t, text),
    `${HEAD}  targets:\n    - service: {name: redis}\n    - internet:\n        domains:\n          - keep.example.com\n          - new.example.com\n        ports:\n`,
  );
});

test("CRLF files keep CRLF, and a file without a final line break keeps none", (t) => {
  const lf = `${HEAD}  targets:\n    - service: {name: redis}\n    - internet:\n        domains: [keep.example.com]\n    - kubernetes:\n        name: gone`;
  const expected = `${HEAD}  targets:\n    - service: {name: redis}\n    - internet:\n        domains: [keep.example.com]\n    - internet:\n        domains:\n          - new.example.com\n        ports:\n          - 443`;
  t.is(fix(t, lf), expected);
  t.is(fix(t, lf.replace(/\n/g, "\r\n") + "\r\n"), expected.replace(/\n/g, "\r\n") + "\r\n");
});

test("a flow list over several lines: an item goes with its line, comments stay with theirs", (t) => {
  const text = `${HEAD}  targets: [\n    {service: {name: redis}},   # redis\n    {kubernetes: {name: gone}}, # gone\n    {internet: {domains: [\n      keep.example.com,  # keep\n      new.example.com,   # new\n      old.example.com    # old\n    ], ports: [443]}}  # last\n    ]\n`;
  t.is(
    fix(t, text),
    `${HEAD}  targets: [\n    {service: {name: redis}},   # redis\n    {internet: {domains: [\n      keep.example.com,  # keep\n      new.example.com   # new\n    ], ports: [443]}}  # last\n    ]\n`,
  );
});

test("JSON indented by 4 gets new targets indented by 4", (t) => {
  const text =
    JSON.stringify(
      {
        apiVersion: "k8s.otterize.com/v2beta1",
        kind: "ClientIntents",
        metadata: { name: "w", namespace: "dev" },
        spec: {
          workload: { name: "w" },
          targets: [
            { service: { name: "redis" } },
            { internet: { domains: ["keep.example.com"] } },
          ],
        },
      },
      null,
      4,
    ) + "\n";
  const after = fix(t, text, "w.json");
  t.true(
    after.includes(
      '\n            {\n                "internet": {\n                    "domains": [\n                        "new.example.com"',
    ),
    after,
  );
});

test("a file with YAML aliases is refused, not edited", (t) => {
  const text = `${HEAD}  targets:\n    - internet:\n        domains: &d [keep.example.com, old.example.com]\n    - internet:\n        domains: *d\n        ports: [8443]\n`;
  t.throws(
    () =>
      planFix({
        diff: diffEgress(input(text, "w.yaml")),
        texts: new Map([["w.yaml", text]]),
        newFile: () => "n.yaml",
      }),
    { instanceOf: InputError, message: /--fix does not edit files that use YAML aliases/ },
  );
});

test("intents split over files: additions go to the first ClientIntents that can say them", (t) => {
  const v1 =
    "apiVersion: k8s.otterize.com/v1alpha2\nkind: ClientIntents\nmetadata: {name: w, namespace: dev}\nspec:\n  service: {name: w}\n  calls:\n    - name: redis\n";
  const v2 = `${HEAD}  targets:\n    - internet: {domains: [keep.example.com]}\n`;
  const docs = [...parseYamlDocuments(v1, "a.yaml"), ...parseYamlDocuments(v2, "b.yaml")];
  const plan = planFix({
    diff: diffEgress(diffInput({ intents: clientIntentsFromDocuments(docs, "dev"), observed })),
    texts: new Map([
      ["a.yaml", v1],
      ["b.yaml", v2],
    ]),
    newFile: () => "new.yaml",
  });
  t.deepEqual(plan.skipped, []);
  t.is(applyFix(v1, plan, "a.yaml"), v1, "v1alpha2 cannot declare internet egress: left alone");
  t.is(
    applyFix(v2, plan, "b.yaml"),
    `${v2}    - internet:\n        domains:\n          - new.example.com\n        ports:\n          - 443\n`,
  );
});
