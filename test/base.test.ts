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
import { runCli } from "./helpers/cli.js";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** `--base`: a pull request judged against its target branch's intents. */

const openai = { internet: { domains: ["api.openai.com"], ports: [443] } };
const legacy = { internet: { domains: ["legacy.example.com"] } };
const fresh = { internet: { domains: ["new.example.com"] } };

// Observed for a month; every target has been in the cluster for a month (so silence counts).
const observed = parseObserved([
  observedEgress({
    destinations: [
      internet("api.openai.com", ["104.18.7.192"], [443]),
      internet("sts.amazonaws.com", ["52.94.15.82"], [443]),
    ],
    declared: [
      [{ internet: { domains: ["api.openai.com"] } }, ago(30 * DAY)],
      [{ internet: { domains: ["legacy.example.com"] } }, ago(30 * DAY)],
      [{ internet: { domains: ["new.example.com"] } }, ago(30 * DAY)],
    ],
  }),
]);

function judge(pr: Record<string, unknown>[], base: Record<string, unknown>[] | undefined) {
  const input = diffInput({
    intents: parseIntents(pr.length ? [clientIntents({ kind: "Deployment", targets: pr })] : []),
    observed,
    ...(base
      ? { base: parseIntents([clientIntents({ kind: "Deployment", targets: base })], "base.yaml") }
      : {}),
  });
  const diff = diffEgress(input);
  return (diff.workloads[0]?.findings ?? []).map((f) => ({
    verdict: f.verdict,
    target: JSON.stringify(f.target),
    reason: f.reason,
  }));
}

function find(findings: ReturnType<typeof judge>, domain: string) {
  return findings.filter((f) => f.target.includes(`"${domain}"`));
}

test("a target the change adds is unverified, never unnecessary", (t) => {
  const without = judge([openai, fresh], undefined);
  t.is(
    find(without, "new.example.com")[0]?.verdict,
    "unnecessary",
    "without --base it is judged as any other",
  );
  const withBase = judge([openai, fresh], [openai]);
  const added = find(withBase, "new.example.com");
  t.is(added.length, 1);
  t.is(added[0]?.verdict, "unverified");
  t.regex(added[0]?.reason ?? "", /^added by this change/);
});

test("a target already on the base keeps its verdict", (t) => {
  const findings = judge([openai, legacy], [openai, legacy]);
  t.is(find(findings, "legacy.example.com")[0]?.verdict, "unnecessary");
});

test("a target the change removes while it is still observed is the change's missing finding", (t) => {
  const findings = judge([legacy], [openai, legacy]);
  const removed = find(findings, "api.openai.com");
  t.is(removed[0]?.verdict, "missing");
  t.is(removed[0]?.reason, "still observed, but this change removes the intent that declared it");
  // Drift the base already had stays as it was.
  t.is(find(findings, "sts.amazonaws.com")[0]?.reason, "observed but not declared");
});

test("deleting a workload's intents file makes its observed egress the change's missing findings", (t) => {
  const findings = judge([], [openai]);
  t.deepEqual(
    findings.map((f) => [f.verdict, f.reason]),
    [
      ["missing", "still observed, but this change removes the intent that declared it"],
      ["missing", "observed but not declared"],
    ],
  );
});

test("diff --base on files: the PR's added target is unverified, its removed one missing", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "otter-base-"));
  const pr = join(dir, "joke-worker.yaml");
  const original = readFileSync("examples/intents/joke-worker.yaml", "utf8");
  // The PR drops api.openai.com and adds www.example.net.
  writeFileSync(
    pr,
    original.replace("          - api.openai.com\n", "          - www.example.net\n"),
  );
  const r = await runCli([
    "egress",
    "diff",
    "--intents",
    pr,
    "--base",
    "examples/intents/joke-worker.yaml",
    "--observed",
    "examples/observed/snapshot.yaml",
    "--now",
    "2026-11-25T10:00:00Z",
    "-o",
    "json",
  ]);
  t.is(r.code, 1, r.stderr);
  const findings = JSON.parse(r.stdout).workloads[0].findings as Array<{
    verdict: string;
    target: unknown;
    reason: string;
  }>;
  const about = (d: string) => findings.find((f) => JSON.stringify(f.target).includes(d));
  t.like(about("api.openai.com"), {
    verdict: "missing",
    reason: "still observed, but this change removes the intent that declared it",
  });
  t.like(about("www.example.net"), { verdict: "unverified" });
  t.like(about("api.jokes.example.com"), { verdict: "unnecessary" });
});

test("--base and --fix need --intents", async (t) => {
  for (const flag of [["--base", "examples/intents"], ["--fix"]]) {
    const r = await runCli([
      "egress",
      "diff",
      ...flag,
      "--observed",
      "examples/observed/snapshot.yaml",
    ]);
    t.is(r.code, 2);
    t.regex(r.stderr, /needs --intents/);
  }
});

test("ports: a port the base already missed is not the change's doing; a port the change drops is", (t) => {
  const on80 = { internet: { domains: ["api.openai.com"], ports: [80] } };
  // The base never declared api.openai.com: port 443 was missing there too.
  const before = find(judge([on80], [legacy]), "api.openai.com").filter(
    (f) => f.verdict === "missing",
  );
  t.deepEqual(
    before.map((f) => f.reason),
    ["port 443 is outside the declared ports 80"],
  );
  // The base allowed 443; the change narrows it to 80.
  const narrowed = find(judge([on80], [openai]), "api.openai.com").filter(
    (f) => f.verdict === "missing",
  );
  t.deepEqual(
    narrowed.map((f) => f.reason),
    ["still observed, but this change removes the intent that declared it"],
  );
});

test("ports: removing a target blames the change only for the ports the base declared", (t) => {
  const twoPorts = parseObserved([
    observedEgress({
      destinations: [internet("api.openai.com", ["104.18.7.192"], [443, 8443])],
      declared: [[{ internet: { domains: ["api.openai.com"] } }, ago(30 * DAY)]],
    }),
  ]);
  const input = diffInput({
    intents: parseIntents([clientIntents({ kind: "Deployment", targets: [legacy] })]),
    observed: twoPorts,
    base: parseIntents([clientIntents({ kind: "Deployment", targets: [openai] })], "base.yaml"),
  });
  const missing = (diffEgress(input).workloads[0]?.findings ?? [])
    .filter((f) => f.verdict === "missing")
    .map((f) => ({ target: JSON.stringify(f.target), code: f.code }));
  // The base declared api.openai.com on 443 only: 8443 was missing there as well.
  t.deepEqual(missing, [
    {
      target: '{"internet":{"domains":["api.openai.com"],"ports":[443]}}',
      code: "RemovedByChange",
    },
    {
      target: '{"internet":{"domains":["api.openai.com"],"ports":[8443]}}',
      code: "ObservedNotDeclared",
    },
  ]);
});

test("the --base example in docs/pull-requests.md runs as written and prints what it shows", async (t) => {
  const doc = readFileSync("docs/pull-requests.md", "utf8");
  const m =
    /```console\n\$ kubectl otter (egress diff --intents examples\/pull-request\/[^\n]*)\n([\s\S]*?)```/.exec(
      doc,
    );
  t.truthy(m, "the example is in the page");
  const args = (m?.[1] ?? "").split(" ");
  const r = await runCli(args);
  t.is(r.code, 1, r.stderr);
  t.is(r.stdout, m?.[2] ?? "");
});
