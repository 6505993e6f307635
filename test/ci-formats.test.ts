import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import AjvDraft04 from "ajv-draft-04";
import AjvFormats from "ajv-formats";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import type { EgressDiff } from "../src/diff.js";
import { renderDiffMarkdown } from "../src/render/diff-markdown.js";
import { escapeData, escapeProperty, renderGithub } from "../src/render/github.js";
import { sarifLog } from "../src/render/sarif.js";
import { EXAMPLE_INPUTS, runCli } from "./helpers/cli.js";
import { golden } from "./helpers/golden.js";

/** The CI formats of `diff` on the bundled example: GitHub annotations, SARIF, JUnit, Markdown. */

const EXAMPLE = ["egress", "diff", ...EXAMPLE_INPUTS];

// The official SARIF 2.1.0 schema (the OASIS standard's final draft, rtm.5), as Microsoft's
// SARIF tooling ships it.
const SARIF_SCHEMA = createRequire(import.meta.url).resolve(
  "@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json",
);

/** A validator for the SARIF schema (draft-04; its one language-tag pattern is not unicode-safe). */
function sarifValidator() {
  // ajv-draft-04 is CommonJS: its class is the module's default export.
  const Ajv = AjvDraft04.default;
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  AjvFormats.default(ajv);
  return ajv.compile(JSON.parse(readFileSync(SARIF_SCHEMA, "utf8")));
}

function tmpFile(text = ""): string {
  const file = join(mkdtempSync(join(tmpdir(), "otter-ci-")), "file");
  writeFileSync(file, text);
  return file;
}

test("-o github annotates the intents file: missing at the ClientIntents, unnecessary at the target", async (t) => {
  const r = await runCli([...EXAMPLE, "-o", "github"], { env: { GITHUB_STEP_SUMMARY: "" } });
  t.is(r.code, 1);
  t.is(r.stderr, "");
  const lines = r.stdout.trimEnd().split("\n");
  t.regex(
    lines[0] as string,
    /^::error file=examples\/intents\/joke-worker\.yaml,line=2,title=Egress missing from ClientIntents%3A sts\.eu-west-2\.amazonaws\.com::.*Add the target: \{internet: \{domains: \[sts\.eu-west-2\.amazonaws\.com\], ports: \[443\]\}\}$/,
  );
  t.regex(
    lines[1] as string,
    /^::error file=examples\/intents\/joke-worker\.yaml,line=28,title=Unnecessary egress/,
  );
  t.regex(lines[2] as string, /^::warning file=examples\/intents\/joke-worker\.yaml,line=32,/);
  t.is(
    lines.length,
    4,
    "three annotations and the summary line; matched and n/a are not annotated",
  );
  golden(t, "examples.github.txt", r.stdout);
});

test("-o github follows --fail-on: a verdict that does not fail is a warning", async (t) => {
  const r = await runCli([...EXAMPLE, "-o", "github", "--fail-on", "missing"]);
  t.is(r.code, 1);
  t.regex(r.stdout, /^::warning file=examples\/intents\/joke-worker\.yaml,line=28,/m);
  const none = await runCli([...EXAMPLE, "-o", "github", "--fail-on", "none"]);
  t.is(none.code, 0);
  t.notRegex(none.stdout, /^::error/m);
});

test("-o github appends the Markdown report to $GITHUB_STEP_SUMMARY, keeping what was there", async (t) => {
  const summary = tmpFile("## Earlier step\n\n");
  const r = await runCli([...EXAMPLE, "-o", "github"], { env: { GITHUB_STEP_SUMMARY: summary } });
  t.is(r.code, 1);
  const text = readFileSync(summary, "utf8");
  t.true(text.startsWith("## Earlier step\n\n## Egress drift\n"));
  t.regex(text, /```mermaid\nflowchart LR\n/);
  t.regex(text, /\| 🔴 missing \| `sts\.eu-west-2\.amazonaws\.com` \| 443 \|/);
  // Without the variable, nothing is written anywhere but stdout.
  const plain = await runCli([...EXAMPLE, "-o", "github"], { env: { GITHUB_STEP_SUMMARY: "" } });
  t.is(plain.stdout, r.stdout);
});

test("workflow command escaping keeps messages and properties intact", (t) => {
  t.is(escapeData("50% of a\r\nb"), "50%25 of a%0D%0Ab");
  t.is(escapeProperty("dir,with:odd%chars\n"), "dir%2Cwith%3Aodd%25chars%0A");
});

test("-o sarif validates against the SARIF 2.1.0 schema, with one rule per drift verdict", async (t) => {
  const r = await runCli([...EXAMPLE, "-o", "sarif"]);
  t.is(r.code, 1);
  const log = JSON.parse(r.stdout);
  const validate = sarifValidator();
  t.true(validate(log), JSON.stringify(validate.errors, null, 2));
  const run = log.runs[0];
  t.deepEqual(
    run.tool.driver.rules.map((rule: { id: string }) => rule.id),
    ["egress-missing", "egress-unnecessary", "egress-unverified"],
  );
  t.deepEqual(
    run.results.map(
      (res: {
        ruleId: string;
        level: string;
        locations: Array<{ physicalLocation: { region: { startLine: number } } }>;
      }) => [res.ruleId, res.level, res.locations[0]?.physicalLocation.region.startLine],
    ),
    [
      ["egress-missing", "error", 2],
      ["egress-unnecessary", "error", 28],
      ["egress-unverified", "warning", 32],
    ],
  );
  t.is(
    run.results[0].locations[0].physicalLocation.artifactLocation.uri,
    "examples/intents/joke-worker.yaml",
  );
  golden(t, "examples.sarif.json", r.stdout);
});

test("the SARIF schema check catches a broken log (the check itself can fail)", (t) => {
  const validate = sarifValidator();
  t.false(validate({ version: "2.1.0", runs: [{ tool: { driver: {} }, results: [] }] }));
  t.false(validate({ version: "2.0.0", runs: [] }));
});

test("-o junit is well-formed JUnit XML: a test case per workload, failures list the findings", async (t) => {
  const r = await runCli([...EXAMPLE, "-o", "junit"]);
  t.is(r.code, 1);
  t.true(XMLValidator.validate(r.stdout) === true, "well-formed XML");
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(r.stdout);
  t.like(doc.testsuites, { tests: "2", failures: "1", errors: "0" });
  const cases = doc.testsuites.testsuite.testcase;
  t.is(cases.length, 2);
  t.like(cases[0], { classname: "dev", name: "dev/joke-server (Deployment)" });
  t.is(cases[0].failure, undefined);
  t.like(cases[1].failure, {
    message: "egress drift: 1 missing, 1 unnecessary",
    type: "EgressDrift",
  });
  t.regex(cases[1].failure["#text"], /missing: sts\.eu-west-2\.amazonaws\.com \(port 443\)/);
  t.regex(
    cases[1].failure["#text"],
    /unnecessary: api\.jokes\.example\.com at examples\/intents\/joke-worker\.yaml:28/,
  );
  t.regex(cases[1]["system-out"], /unverified: \*\.s3\.eu-west-2\.amazonaws\.com/);
  golden(t, "examples.junit.xml", r.stdout);
});

test("-o junit escapes what XML cannot hold as is", async (t) => {
  const intents = tmpFile(
    [
      "apiVersion: k8s.otterize.com/v2beta1",
      "kind: ClientIntents",
      "metadata: {name: a, namespace: dev}",
      "spec:",
      "  workload: {name: a}",
      "  targets:",
      '    - internet: {domains: ["x.example.com"]}',
      "",
    ].join("\n"),
  );
  const dir = mkdtempSync(join(tmpdir(), "otter-junit-<&>\"'-"));
  const file = join(dir, "a.yaml");
  writeFileSync(file, readFileSync(intents));
  const r = await runCli([
    "egress",
    "diff",
    "--intents",
    file,
    "--observed",
    "examples/observed/snapshot.yaml",
    "--now",
    "2026-11-25T10:00:00Z",
    "-o",
    "junit",
  ]);
  t.true(XMLValidator.validate(r.stdout) === true, r.stdout);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(r.stdout);
  // The parser decodes the entities: the path comes back exactly as it was.
  t.is(doc.testsuites.testsuite.testcase.file, file);
  t.regex(r.stdout, /file="[^"]*otter-junit-&lt;&amp;&gt;&quot;&apos;-/);
});

test("-o markdown has a Mermaid chart per workload, edges coloured by verdict", async (t) => {
  const r = await runCli([...EXAMPLE, "-o", "markdown"]);
  t.is(r.code, 1);
  t.is((r.stdout.match(/```mermaid\n/g) ?? []).length, 2);
  t.regex(r.stdout, /w ==>\|"missing · 443"\| t0\n/);
  t.regex(r.stdout, /linkStyle 0 stroke:#cf222e/);
  golden(t, "examples.md", r.stdout);
});

test("findings on ClientIntents read from the cluster point at no file", (t) => {
  const diff: EgressDiff = {
    now: 0,
    windowMs: 3_600_000,
    summary: { workloads: 1, missing: 1, unnecessary: 1, unverified: 0, matched: 0, "n/a": 0 },
    workloads: [
      {
        workload: { namespace: "dev", name: "w" },
        intents: { file: "ClientIntents dev/w" },
        findings: [
          {
            verdict: "missing",
            code: "ObservedNotDeclared",
            target: { internet: { domains: ["a.example.com"] } },
            reason: "r",
          },
          {
            verdict: "unnecessary",
            code: "NotUsedInWindow",
            target: { internet: { domains: ["b.example.com"] } },
            reason: "r",
            source: { file: "ClientIntents dev/w" },
          },
        ],
      },
    ],
  };
  const failOn = new Set(["missing", "unnecessary"] as const);
  t.notRegex(renderGithub(diff, failOn), /file=/);
  const log = sarifLog(diff, failOn, "0.0.0") as {
    runs: Array<{ results: Array<{ locations: Array<Record<string, unknown>> }> }>;
  };
  for (const r of log.runs[0]?.results ?? []) t.is(r.locations[0]?.physicalLocation, undefined);
  t.true(sarifValidator()(log));
});

test("-o markdown keeps a name with backticks or pipes inside its code span", (t) => {
  const md = renderDiffMarkdown(
    {
      now: 0,
      windowMs: 3_600_000,
      summary: { workloads: 1, missing: 1, unnecessary: 0, unverified: 0, matched: 0, "n/a": 0 },
      workloads: [
        {
          workload: { namespace: "dev", name: "a`b" },
          findings: [
            {
              verdict: "missing",
              code: "ObservedNotDeclared",
              target: { kubernetes: { name: "x`y|z.dev" } },
              reason: "r",
            },
          ],
        },
      ],
    },
    [],
  );
  t.regex(md, /^### ``dev\/a`b``$/m);
  t.regex(md, /^\| 🔴 missing \| ``kubernetes x`y\\\|z\.dev`` \| - \|/m);
});
