import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { Ajv } from "ajv";
import { load } from "js-yaml";
import { EXAMPLE_INPUTS, listExample, runCli } from "./helpers/cli.js";

/**
 * The machine contract as published: every `-o json` and `-o yaml` report validates against
 * the JSON Schemas in docs/schema/, and a target has one shape per meaning.
 */

const ajv = new Ajv({ allErrors: true, strict: true });
const schema = (name: string) =>
  ajv.compile(JSON.parse(readFileSync(`docs/schema/${name}.schema.json`, "utf8")) as object);
const diffSchema = schema("egress-diff");
const listSchema = schema("egress-list");

function valid(t: { true(v: boolean, m?: string): void }, check: typeof diffSchema, doc: unknown) {
  const ok = check(doc);
  t.true(ok, JSON.stringify(check.errors, null, 2));
}

test("diff -o json and -o yaml validate against the published schema", async (t) => {
  for (const extra of [[], ["--include-undeclared"], ["--base", "examples/intents"]]) {
    for (const o of ["json", "yaml"]) {
      const r = await runCli(["egress", "diff", ...EXAMPLE_INPUTS, ...extra, "-o", o]);
      t.is(r.code, 1, r.stderr);
      valid(t, diffSchema, o === "json" ? JSON.parse(r.stdout) : load(r.stdout));
    }
  }
});

test("list -o json validates, and states its window", async (t) => {
  const r = await listExample("--now", "2026-11-25T10:00:00Z", "--window", "72h", "-o", "json");
  t.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { window: string };
  valid(t, listSchema, report);
  t.is(report.window, "72h");
});

test("every finding has a stable reason code beside its text", async (t) => {
  const r = await runCli(["egress", "diff", ...EXAMPLE_INPUTS, "-o", "json"]);
  const findings = (
    JSON.parse(r.stdout) as {
      workloads: Array<{ findings: Array<{ code: string; verdict: string }> }>;
    }
  ).workloads.flatMap((w) => w.findings);
  const codes = new Map(findings.map((f) => [f.verdict, f.code]));
  t.is(codes.get("missing"), "ObservedNotDeclared");
  t.is(codes.get("unnecessary"), "NotUsedInWindow");
  t.is(codes.get("unverified"), "DeclaredLessThanWindow");
  t.is(codes.get("matched"), "DeclaredAndUsed");
  t.is(codes.get("n/a"), "NotNetworkEgress");
});

test("a Service has one shape whichever ClientIntents version declared it", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "otter-shape-"));
  const v1 = `apiVersion: k8s.otterize.com/v1alpha3
kind: ClientIntents
metadata: {name: a, namespace: dev}
spec:
  service: {name: a}
  calls:
    - name: svc:redis.dev
`;
  const v2 = `apiVersion: k8s.otterize.com/v2beta1
kind: ClientIntents
metadata: {name: b, namespace: dev}
spec:
  workload: {name: b}
  targets:
    - service: {name: redis}
    - kubernetes: {name: redis, kind: Service}
`;
  writeFileSync(join(dir, "v1.yaml"), v1);
  writeFileSync(join(dir, "v2.yaml"), v2);
  const r = await runCli([
    "egress",
    "diff",
    "--intents",
    dir,
    "--observed",
    "examples/observed/snapshot.yaml",
    "--now",
    "2026-11-25T10:00:00Z",
    "--fail-on",
    "none",
    "-o",
    "json",
  ]);
  t.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as {
    workloads: Array<{ findings: Array<{ target: unknown }> }>;
  };
  valid(t, diffSchema, report);
  const targets = report.workloads.flatMap((w) => w.findings.map((f) => JSON.stringify(f.target)));
  t.deepEqual([...new Set(targets)], ['{"service":{"name":"redis.dev"}}']);
  t.is(targets.length, 3);
});
