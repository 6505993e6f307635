import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { EXAMPLE_INPUTS, runCli } from "./helpers/cli.js";

const EXAMPLE = EXAMPLE_INPUTS;

function tmp(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "otter-cli-"));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

test("diff on the example prints the drift table and exits 1", async (t) => {
  const r = await runCli(["egress", "diff", ...EXAMPLE]);
  t.is(r.code, 1);
  t.is(r.stderr, "");
  t.false(r.stdout.includes("\u001b["), "no colour when piped");
  t.regex(r.stdout, /missing +sts\.eu-west-2\.amazonaws\.com +443/);
  t.regex(
    r.stdout,
    /unnecessary +api\.jokes\.example\.com .*examples\/intents\/joke-worker\.yaml:28/,
  );
  t.regex(r.stdout, /2 workloads: 1 missing, 1 unnecessary, 1 unverified, 5 matched, 1 n\/a/);
  t.regex(
    r.stdout,
    /kubectl otter egress suggest -n dev joke-worker --observed examples\/observed\/snapshot\.yaml/,
  );
  t.snapshot(r.stdout);
});

test("diff -o json follows the machine contract", async (t) => {
  const r = await runCli(["egress", "diff", ...EXAMPLE, "-o", "json"]);
  t.is(r.code, 1);
  const report = JSON.parse(r.stdout);
  t.like(report, {
    apiVersion: "egress.otter.dev/v1alpha1",
    kind: "EgressDiff",
    window: "168h",
    now: "2026-11-25T10:00:00Z",
    summary: { workloads: 2, matched: 5, missing: 1, unnecessary: 1, unverified: 1, "n/a": 1 },
  });
  const worker = report.workloads.find(
    (w: { workload: { name: string } }) => w.workload.name === "joke-worker",
  );
  t.deepEqual(worker.workload, { namespace: "dev", name: "joke-worker", kind: "Deployment" });
  t.deepEqual(worker.intents, { file: "examples/intents/joke-worker.yaml", line: 2 });
  t.deepEqual(worker.findings[0], {
    verdict: "missing",
    target: { internet: { domains: ["sts.eu-west-2.amazonaws.com"], ports: [443] } },
    reason: "observed but not declared",
    lastSeen: "2026-11-25T09:40:00Z",
  });
  t.snapshot(report);
});

test("diff -o yaml and -o markdown render the same findings", async (t) => {
  const yaml = await runCli(["egress", "diff", ...EXAMPLE, "-o", "yaml"]);
  t.is(yaml.code, 1);
  t.regex(yaml.stdout, /^apiVersion: egress\.otter\.dev\/v1alpha1\nkind: EgressDiff\n/);
  const md = await runCli(["egress", "diff", ...EXAMPLE, "-o", "markdown"]);
  t.is(md.code, 1);
  t.regex(md.stdout, /\| 🔴 missing \| `sts\.eu-west-2\.amazonaws\.com` \| 443 \|/);
  t.snapshot(md.stdout);
});

test("--fail-on decides the exit code", async (t) => {
  t.is((await runCli(["egress", "diff", ...EXAMPLE, "--fail-on", "none"])).code, 0);
  t.is((await runCli(["egress", "diff", ...EXAMPLE, "--fail-on", "unnecessary"])).code, 1);
  const clean = tmp("w.yaml", readFileSync("examples/intents/joke-server.yaml", "utf8"));
  t.is(
    (
      await runCli([
        "egress",
        "diff",
        "--intents",
        clean,
        "--observed",
        "examples/observed/snapshot.yaml",
        "--now",
        "2026-11-25T10:00:00Z",
      ])
    ).code,
    0,
  );
  t.is((await runCli(["egress", "diff", ...EXAMPLE, "--fail-on", "unverified"])).code, 1);
});

test("a wider window turns the old never-seen target from unnecessary to unverified", async (t) => {
  const r = await runCli([
    "egress",
    "diff",
    ...EXAMPLE,
    "--window",
    "60d",
    "-o",
    "json",
    "--fail-on",
    "unnecessary",
  ]);
  const report = JSON.parse(r.stdout);
  t.is(report.window, "1440h");
  t.is(report.summary.unnecessary, 0, "the workload has been observed for less than 60 days");
  t.is(r.code, 0);
});

test("colour on a terminal, plain when NO_COLOR is set", async (t) => {
  // FORCE_TTY is not a thing; the renderer is pure, so check the flag's effect through the module.
  const { renderDiffTable } = await import("../src/render/diff-table.js");
  const { diffEgress } = await import("../src/diff.js");
  const diff = diffEgress({
    intents: [],
    intentsFromFiles: true,
    observed: [],
    namespaces: { all: true },
    includeUndeclared: false,
    now: 0,
    windowMs: 1,
    listening: { state: "snapshot" },
  });
  t.false(renderDiffTable(diff, { color: false }, []).includes("\u001b["));
  t.true(renderDiffTable(diff, { color: true }, ["hint"]).includes("\u001b[2mhint"));
});

test("--include-undeclared adds observed workloads that no file declares", async (t) => {
  const server = [
    "--intents",
    "examples/intents/joke-server.yaml",
    "--observed",
    "examples/observed/snapshot.yaml",
    "--now",
    "2026-11-25T10:00:00Z",
    "-o",
    "json",
  ];
  const only = JSON.parse((await runCli(["egress", "diff", ...server])).stdout);
  t.deepEqual(
    only.workloads.map((w: { workload: { name: string } }) => w.workload.name),
    ["joke-server"],
  );
  const r = await runCli(["egress", "diff", ...server, "--include-undeclared"]);
  const all = JSON.parse(r.stdout);
  t.deepEqual(
    all.workloads.map((w: { workload: { name: string } }) => w.workload.name),
    ["joke-server", "joke-worker"],
  );
  const worker = all.workloads[1];
  t.false("intents" in worker);
  t.true(worker.findings.every((f: { verdict: string }) => f.verdict === "missing"));
  t.is(
    worker.findings.length,
    6,
    "nats, redis, openai, dynamodb, sts, and the bare IP: nothing declares its name",
  );
  t.is(r.code, 1);
});

test("-n limits the scope to one namespace", async (t) => {
  const r = await runCli(["egress", "diff", ...EXAMPLE, "-n", "prod", "-o", "json"]);
  t.is(r.code, 0);
  t.is(JSON.parse(r.stdout).summary.workloads, 0);
});

test("intents and snapshot can come from stdin", async (t) => {
  const r = await runCli(
    [
      "egress",
      "diff",
      "--intents",
      "-",
      "--observed",
      "examples/observed/snapshot.yaml",
      "--now",
      "2026-11-25T10:00:00Z",
      "-o",
      "json",
    ],
    {
      stdin: readFileSync("examples/intents/joke-worker.yaml", "utf8"),
    },
  );
  t.is(r.code, 1);
  t.deepEqual(JSON.parse(r.stdout).workloads[0].intents, { file: "<stdin>", line: 2 });
});

test("suggest writes intents that make diff clean", async (t) => {
  const r = await runCli([
    "egress",
    "suggest",
    "-n",
    "dev",
    "joke-worker",
    "--observed",
    "examples/observed/snapshot.yaml",
    "--now",
    "2026-11-25T10:00:00Z",
  ]);
  t.is(r.code, 0);
  t.snapshot(r.stdout);
  const file = tmp("suggested.yaml", r.stdout);
  const d = await runCli([
    "egress",
    "diff",
    "--intents",
    file,
    "--observed",
    "examples/observed/snapshot.yaml",
    "--now",
    "2026-11-25T10:00:00Z",
    "-o",
    "json",
  ]);
  t.is(d.code, 0);
  t.is(JSON.parse(d.stdout).summary.missing, 0);
  const v1 = await runCli([
    "egress",
    "suggest",
    "joke-worker",
    "--api-version",
    "v1alpha3",
    "--observed",
    "examples/observed/snapshot.yaml",
    "--now",
    "2026-11-25T10:00:00Z",
  ]);
  t.regex(v1.stdout, /apiVersion: k8s\.otterize\.com\/v1alpha3/);
  const none = await runCli([
    "egress",
    "suggest",
    "nobody",
    "--observed",
    "examples/observed/snapshot.yaml",
  ]);
  t.is(none.code, 2);
  t.regex(none.stderr, /no observed egress for workload "nobody"/);
});

test("list shows what was observed", async (t) => {
  const r = await runCli([
    "egress",
    "list",
    "--observed",
    "examples/observed/snapshot.yaml",
    "--now",
    "2026-11-25T10:00:00Z",
  ]);
  t.is(r.code, 0);
  t.regex(
    r.stdout,
    /dev +joke-worker +Deployment +api\.openai\.com +104\.18\.7\.192,104\.18\.6\.192 +443/,
  );
  t.snapshot(r.stdout);
  const json = JSON.parse(
    (
      await runCli([
        "egress",
        "list",
        "-n",
        "dev",
        "--observed",
        "examples/observed/snapshot.yaml",
        "-o",
        "json",
        "--now",
        "2026-11-25T10:00:00Z",
      ])
    ).stdout,
  );
  t.is(json.workloads.length, 2);
});

test("help says kubectl otter, and -h works on every command", async (t) => {
  const root = await runCli(["--help"]);
  t.is(root.code, 0);
  t.regex(root.stdout, /kubectl otter egress <command>/);
  for (const cmd of ["diff", "suggest", "list"]) {
    const r = await runCli(["egress", cmd, "-h"]);
    t.is(r.code, 0);
    t.regex(r.stdout, new RegExp(`kubectl otter egress ${cmd}`));
  }
});

interface BadCase {
  name: string;
  args: string[];
  files?: Record<string, string>;
  stderr: RegExp;
}

const bad: BadCase[] = [
  {
    name: "an unknown flag",
    args: ["egress", "diff", "--bogus"],
    stderr: /^error: unknown flag: --bogus\nSee 'kubectl otter egress diff --help' for usage\.\n$/,
  },
  {
    name: "an unknown command",
    args: ["egress", "frobnicate"],
    stderr: /unknown command "frobnicate"/,
  },
  {
    name: "a missing file",
    args: [
      "egress",
      "diff",
      "--intents",
      "nope.yaml",
      "--observed",
      "examples/observed/snapshot.yaml",
    ],
    stderr: /^error: nope\.yaml: no such file or directory\n$/,
  },
  {
    name: "a malformed duration",
    args: ["egress", "diff", ...EXAMPLE, "--window", "a week"],
    stderr: /invalid value "a week" for --window/,
  },
  {
    name: "a malformed timestamp",
    args: [
      "egress",
      "diff",
      "--intents",
      "examples/intents",
      "--observed",
      "examples/observed/snapshot.yaml",
      "--now",
      "tomorrow",
    ],
    stderr: /invalid value "tomorrow" for --now/,
  },
  {
    name: "a bad output format",
    args: ["egress", "diff", ...EXAMPLE, "-o", "xml"],
    stderr: /allowed formats are: table,json,yaml,markdown/,
  },
  {
    name: "-n with -A",
    args: ["egress", "list", "-n", "dev", "-A", "--observed", "examples/observed/snapshot.yaml"],
    stderr: /cannot be used together/,
  },
  {
    name: "unparseable YAML",
    args: [
      "egress",
      "diff",
      "--intents",
      "@bad.yaml",
      "--observed",
      "examples/observed/snapshot.yaml",
    ],
    files: { "bad.yaml": "apiVersion: k8s.otterize.com/v2beta1\nkind: [\n" },
    stderr: /bad\.yaml:3: invalid YAML/,
  },
  {
    name: "an invalid ClientIntents",
    args: [
      "egress",
      "diff",
      "--intents",
      "@ci.yaml",
      "--observed",
      "examples/observed/snapshot.yaml",
    ],
    files: {
      "ci.yaml":
        "apiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\nmetadata: {name: w}\nspec:\n  workload: {name: w}\n  targets:\n  - internet: {domains: [a.com], ips: [999.1.1.1]}\n",
    },
    stderr:
      /ci\.yaml:7: spec\.targets\[0\]\.internet\.ips\[0\]: "999\.1\.1\.1" is not a valid IP address or CIDR/,
  },
  {
    name: "a malformed snapshot",
    args: ["egress", "list", "--observed", "@oe.yaml"],
    files: {
      "oe.yaml":
        "apiVersion: egress.otter.dev/v1alpha1\nkind: ObservedEgress\nmetadata: {name: w, namespace: d}\nspec: {workload: {name: w}}\nstatus:\n  destinations:\n  - internet: {dnsName: a.com}\n    lastSeen: last tuesday\n",
    },
    stderr:
      /oe\.yaml:8: status\.destinations\[0\]\.lastSeen: "last tuesday" is not an RFC 3339 timestamp/,
  },
  {
    name: "a YAML alias bomb",
    args: [
      "egress",
      "diff",
      "--intents",
      "@bomb.yaml",
      "--observed",
      "examples/observed/snapshot.yaml",
    ],
    files: {
      "bomb.yaml":
        "a: &a [x,x,x,x,x,x,x,x,x,x]\n" +
        Array.from(
          { length: 8 },
          (_, i) =>
            `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${new Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(",")}]`,
        ).join("\n") +
        "\n",
    },
    stderr: /bomb\.yaml:1: YAML aliases expand to more than/,
  },
];

for (const c of bad) {
  test(`bad input: ${c.name} is exit 2, one clear error, nothing on stdout`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "otter-bad-"));
    for (const [name, text] of Object.entries(c.files ?? {})) writeFileSync(join(dir, name), text);
    const args = c.args.map((a) => (a.startsWith("@") ? join(dir, a.slice(1)) : a));
    const r = await runCli(args);
    t.is(r.code, 2);
    t.is(r.stdout, "");
    t.regex(r.stderr, c.stderr);
    t.regex(r.stderr, /^error: /);
    t.false(r.stderr.includes("    at "), "no stack trace");
  });
}
