import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { load as loadYaml } from "js-yaml";
import { BIN, diffAgainst, EXAMPLE_INPUTS, listExample, runCli } from "./helpers/cli.js";

const EXAMPLE = EXAMPLE_INPUTS;
const EXAMPLE_FROM_STDIN = [
  "--intents",
  "-",
  "--observed",
  "examples/observed/snapshot.yaml",
  "--now",
  "2026-11-25T10:00:00Z",
];

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
    /^dev\/joke-worker \(Deployment\) +intents examples\/intents\/joke-worker\.yaml:2$/m,
  );
  // The line in that file, and the time since it was last seen, as kubectl's ages.
  t.regex(r.stdout, /^ {2}unnecessary +api\.jokes\.example\.com +- +- +28$/m);
  t.regex(r.stdout, /^ {2}missing +sts\.eu-west-2\.amazonaws\.com +443 +20m +-$/m);
  t.regex(r.stdout, /2 workloads: 1 missing, 1 unnecessary, 1 unverified, 5 matched, 1 n\/a/);
  t.regex(
    r.stdout,
    /kubectl otter egress suggest -n dev --observed examples\/observed\/snapshot\.yaml --now 2026-11-25T10:00:00Z joke-worker/,
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
    code: "ObservedNotDeclared",
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
    workloadScope: "declared",
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
    5,
    "nats, redis, openai, dynamodb and sts; the bare IP is dynamodb's answer, part of its finding",
  );
  t.is(r.code, 1);
});

test("-n limits the scope to one namespace", async (t) => {
  const r = await runCli(["egress", "diff", ...EXAMPLE, "-n", "prod", "-o", "json"]);
  t.is(r.code, 0);
  t.is(JSON.parse(r.stdout).summary.workloads, 0);
});

test("intents and snapshot can come from stdin", async (t) => {
  const r = await runCli(["egress", "diff", ...EXAMPLE_FROM_STDIN, "-o", "json"], {
    stdin: readFileSync("examples/intents/joke-worker.yaml", "utf8"),
  });
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
  t.regex(r.stdout, /^dev +joke-worker +api\.openai\.com +443 +2m$/m);
  t.snapshot(r.stdout);
  const wide = await listExample("--now", "2026-11-25T10:00:00Z", "-o", "wide");
  t.regex(
    wide.stdout,
    /dev +joke-worker +Deployment +api\.openai\.com +104\.18\.7\.192,104\.18\.6\.192 +443 +\S+Z +2026-11-25T09:58:00Z/,
  );
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
  t.regex(root.stdout, /^ {2}egress +Compare ClientIntents/m);
  t.regex(root.stdout, /^ {2}version +Print/m);
  const group = await runCli(["egress"]);
  t.is(group.code, 0);
  t.regex(group.stdout, /kubectl otter egress <command>/);
  t.regex(group.stdout, /^ {2}diff +Print the drift/m);
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
    stderr: /allowed formats are: table,wide,json,yaml,markdown/,
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
    name: "a malformed JSON snapshot",
    args: ["egress", "list", "--observed", "@oe.json"],
    files: {
      "oe.json": JSON.stringify(
        {
          apiVersion: "v1",
          kind: "List",
          items: [
            {
              apiVersion: "egress.otter.dev/v1alpha1",
              kind: "ObservedEgress",
              metadata: { name: "w", namespace: "d" },
              spec: { workload: { name: "w" } },
              status: { destinations: [{ internet: { dnsName: "a.com" }, lastSeen: "soon" }] },
            },
          ],
        },
        null,
        4,
      ),
    },
    stderr:
      /oe\.json:23: items\[0\]\.status\.destinations\[0\]\.lastSeen: "soon" is not an RFC 3339 timestamp/,
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
  {
    name: "a snapshot that is empty",
    args: ["egress", "diff", "--intents", "examples/intents", "--observed", "@empty.yaml"],
    files: { "empty.yaml": "" },
    stderr: /empty\.yaml: no ObservedEgress objects \(it holds no Kubernetes objects\)/,
  },
  {
    name: "a snapshot that holds a Deployment",
    args: ["egress", "diff", "--intents", "examples/intents", "--observed", "@deploy.yaml"],
    files: { "deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n" },
    stderr: /deploy\.yaml: no ObservedEgress objects \(found Deployment apps\/v1\)/,
  },
  {
    name: "the intents file given as the snapshot",
    args: [
      "egress",
      "diff",
      "--intents",
      "examples/intents",
      "--observed",
      "examples/intents/joke-worker.yaml",
    ],
    stderr: /no ObservedEgress objects \(found ClientIntents k8s\.otterize\.com\/v2beta1\)/,
  },
  {
    name: "intents from /dev/null",
    args: [
      "egress",
      "diff",
      "--intents",
      "/dev/null",
      "--observed",
      "examples/observed/snapshot.yaml",
    ],
    stderr: /^error: no ClientIntents in \/dev\/null \(it holds no Kubernetes objects\)\n$/,
  },
  {
    name: "an intents directory without YAML",
    args: ["egress", "diff", "--intents", "@sub", "--observed", "examples/observed/snapshot.yaml"],
    files: { sub: "" },
    stderr: /no ClientIntents in .*sub \(it holds no \.yaml, \.yml or \.json files\)/,
  },
  {
    name: "intents of a mistyped group",
    args: [
      "egress",
      "diff",
      "--intents",
      "@typo.yaml",
      "--observed",
      "examples/observed/snapshot.yaml",
    ],
    files: {
      "typo.yaml":
        "apiVersion: otterize.com/v2beta1\nkind: ClientIntents\nmetadata: {name: w}\nspec: {workload: {name: w}}\n",
    },
    stderr: /no ClientIntents in .*typo\.yaml \(found ClientIntents otterize\.com\/v2beta1\)/,
  },
  {
    name: "two ClientIntents of the same name and namespace",
    args: [
      "egress",
      "diff",
      "--intents",
      "@a.yaml",
      "--intents",
      "@b.yaml",
      "--observed",
      "examples/observed/snapshot.yaml",
    ],
    files: {
      "a.yaml":
        "apiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\nmetadata: {name: w, namespace: dev}\nspec: {workload: {name: w}, targets: [{internet: {domains: [a.com]}}]}\n",
      "b.yaml":
        "# the same, again\napiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\nmetadata: {name: w, namespace: dev}\nspec: {workload: {name: x}, targets: [{internet: {domains: [a.com]}}]}\n",
    },
    stderr:
      /b\.yaml:2: ClientIntents dev\/w is also defined at .*a\.yaml:1: the cluster keeps only one of them/,
  },
  {
    name: "a window out of Go's range",
    args: ["egress", "diff", ...EXAMPLE, "--window", "99999999999999999999h"],
    stderr: /invalid value "99999999999999999999h" for --window: the duration is out of range/,
  },
  {
    name: "a zero window",
    args: ["egress", "diff", ...EXAMPLE, "--window", "0"],
    stderr: /invalid value "0" for --window: the duration must be positive/,
  },
  {
    name: "an empty --fail-on",
    args: ["egress", "diff", ...EXAMPLE, "--fail-on", ""],
    stderr: /invalid value an empty verdict for --fail-on/,
  },
];

for (const c of bad) {
  test(`bad input: ${c.name} is exit 2, one clear error, nothing on stdout`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "otter-bad-"));
    for (const [name, text] of Object.entries(c.files ?? {})) {
      // An empty name without an extension is a directory.
      if (text === "" && !name.includes(".")) mkdirSync(join(dir, name));
      else writeFileSync(join(dir, name), text);
    }
    const args = c.args.map((a) => (a.startsWith("@") ? join(dir, a.slice(1)) : a));
    const r = await runCli(args);
    t.is(r.code, 2);
    t.is(r.stdout, "");
    t.regex(r.stderr, c.stderr);
    t.regex(r.stderr, /^error: /);
    t.false(r.stderr.includes("    at "), "no stack trace");
  });
}

test("a path without ClientIntents beside one with them is a warning that names it", async (t) => {
  const empty = mkdtempSync(join(tmpdir(), "otter-empty-"));
  const r = await runCli(["egress", "diff", ...EXAMPLE, "--intents", empty]);
  t.is(r.code, 1);
  t.is(
    r.stderr,
    `warning: ${empty}: no ClientIntents (it holds no .yaml, .yml or .json files); skipped\n`,
  );
  t.regex(r.stdout, /missing +sts\.eu-west-2\.amazonaws\.com/);
});

test("an explicit empty List of ObservedEgress is a cluster with none: every target unverified", async (t) => {
  const snapshot = tmp("none.yaml", "apiVersion: v1\nkind: List\nitems: []\n");
  const r = await diffAgainst(snapshot, "--fail-on", "unverified");
  t.is(r.code, 1, r.stderr);
  t.regex(r.stdout, /unverified/);
});

test("a file named twice, or through a link, is read once: no duplicate, and --fix edits it once", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "otter-link-"));
  const real = join(dir, "joke-worker.yaml");
  writeFileSync(real, readFileSync("examples/intents/joke-worker.yaml", "utf8"));
  symlinkSync(real, join(dir, "link.yaml"));
  const args = ["egress", "diff", "--observed", "examples/observed/snapshot.yaml"];
  const now = ["--now", "2026-11-25T10:00:00Z"];
  const twice = await runCli([...args, ...now, "--intents", dir, "--intents", real]);
  t.is(twice.code, 1, twice.stderr);
  t.is(twice.stderr, "");
  const fixed = await runCli([...args, ...now, "--intents", dir, "--fix"]);
  t.is(fixed.code, 0, fixed.stderr);
  const after = await runCli([...args, ...now, "--intents", join(dir, "link.yaml")]);
  t.is(after.code, 0, after.stdout);
});

test("--now takes any RFC 3339 year, 0001 included", async (t) => {
  const r = await listExample("--now", "0001-01-01T00:00:00Z", "-o", "json");
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /0001-01-01T00:00:00Z/);
});

test("a missing target's message reads as English, with or without ClientIntents", async (t) => {
  const r = await runCli(["egress", "diff", ...EXAMPLE, "-o", "github"]);
  t.regex(r.stdout, /which its ClientIntents do not declare;/);
  const observed = ["--observed", "examples/observed/snapshot.yaml", "--now", EXAMPLE[5]];
  const one = ["--intents", "examples/intents/joke-server.yaml", "--include-undeclared"];
  const undeclared = await runCli(["egress", "diff", ...one, ...observed, "-o", "github"]);
  t.regex(undeclared.stdout, /which no ClientIntents declares;/);
  t.notRegex(undeclared.stdout, /no ClientIntents does not/);
});

test("output that cannot be written is an error, not a silent exit 0", (t) => {
  const full = spawnSync(
    "sh",
    [
      "-c",
      'exec "$0" bin/kubectl-otter.js egress list --observed examples/observed/snapshot.yaml >/dev/full',
      process.execPath,
    ],
    { encoding: "utf8" },
  );
  t.is(full.status, 2);
  t.regex(full.stderr, /^error: cannot write the output to stdout: ENOSPC\n$/);
});

test("an unwritable job summary is a warning; the verdict's exit code stands", async (t) => {
  const r = await runCli(["egress", "diff", ...EXAMPLE, "-o", "github"], {
    env: { GITHUB_STEP_SUMMARY: "/nonexistent/summary.md" },
  });
  t.is(r.code, 1);
  t.regex(r.stdout, /^::error file=/m);
  t.regex(r.stderr, /^warning: \/nonexistent\/summary\.md: cannot append the job summary: /);
});

test("without any kubeconfig, kubectl's words and the way to work offline", async (t) => {
  const home = mkdtempSync(join(tmpdir(), "otter-home-"));
  const r = await runCli(["egress", "list"], {
    env: { HOME: home, KUBECONFIG: "", KUBERNETES_SERVICE_HOST: "" },
  });
  t.is(r.code, 2);
  t.regex(
    r.stderr,
    /^error: The connection to the server localhost:8080 was refused - did you specify the right host or port\? \(no kubeconfig: .*give --intents and --observed\)\n$/,
  );
});

test("a namespace with nothing in it says so", async (t) => {
  const r = await runCli(["egress", "diff", ...EXAMPLE, "-n", "prod"]);
  t.is(r.code, 0);
  t.is(
    r.stdout.split("\n")[0],
    "No workloads found in prod namespace: no ClientIntents and no observed egress there.",
  );
});

test("stdin from a slow producer is read whole (a pipe with nothing in it yet)", async (t) => {
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, [BIN, "egress", "diff", ...EXAMPLE_FROM_STDIN], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const text = readFileSync("examples/intents/joke-worker.yaml", "utf8");
  child.stdin.write(text.slice(0, 100));
  await new Promise((r) => setTimeout(r, 300));
  child.stdin.end(text.slice(100));
  const code = await new Promise((r) => child.on("close", r));
  t.is(code, 1, stderr);
  t.regex(stdout, /missing +sts\.eu-west-2\.amazonaws\.com/);
});

test("the hinted commands repeat the run's flags, and run as printed", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "otter-hints-"));
  const intents = join(dir, "intents dir");
  mkdirSync(intents);
  for (const f of ["joke-worker.yaml", "joke-server.yaml"]) {
    writeFileSync(join(intents, f), readFileSync(join("examples/intents", f), "utf8"));
  }
  const observed = ["--observed", "examples/observed/snapshot.yaml"];
  const args = ["--intents", intents, ...observed, "--window", "72h", "-n", "dev"];
  const r = await runCli(["egress", "diff", ...args, "--now", "2026-11-25T10:00:00Z"]);
  t.is(r.code, 1, r.stderr);
  const hinted = r.stdout.split("\n").filter((l) => l.startsWith("  kubectl otter egress "));
  t.is(hinted.length, 2, r.stdout);
  for (const line of hinted) {
    t.regex(line, / --window 72h /);
    t.regex(line, / --now 2026-11-25T10:00:00Z/);
    t.regex(line, / -n dev /);
  }
  t.regex(hinted[1] as string, /--intents '[^']*intents dir' /);
  for (const line of hinted) {
    const run = spawnSync(
      "sh",
      ["-c", line.trim().replace(/^kubectl otter /, '"$0" "$1" '), process.execPath, BIN],
      {
        encoding: "utf8",
      },
    );
    // suggest exits 0; the dry run, which changes nothing yet, keeps the verdict's 1.
    t.true(run.status === 0 || run.status === 1, `${line}: ${run.stderr}`);
    t.is(run.stderr, "", line);
    t.regex(run.stdout, /joke-worker/);
  }
});

test("tables fit 80 columns; -o wide has everything; list -n drops NAMESPACE and filters by name", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "otter-wide-"));
  const long = `apiVersion: k8s.otterize.com/v2beta1
kind: ClientIntents
metadata: {name: joke-worker, namespace: dev}
spec:
  workload: {name: joke-worker, kind: Deployment}
  targets:
    - internet: {domains: [a-very-long-name.of-a-service.in-a-region.example-cloud-provider.example.com]}
    - aws: {arn: "arn:aws:dynamodb:eu-west-2:123456789012:table/joke-scores-and-a-much-longer-name"}
`;
  writeFileSync(join(dir, "joke-worker.yaml"), long);
  const args = ["egress", "diff", "--intents", dir, ...EXAMPLE.slice(2)];
  const r = await runCli(args);
  t.is(r.code, 1, r.stderr);
  const table = r.stdout.split("\n").filter((l) => !l.startsWith("  kubectl otter"));
  for (const line of table) t.true(line.length <= 80, `${line.length}: ${line}`);
  t.regex(r.stdout, /a-very-long-name\.of-a-s…e-cloud-provider\.example\.com|…/);
  const wide = await runCli([...args, "-o", "wide"]);
  t.regex(
    wide.stdout,
    /a-very-long-name\.of-a-service\.in-a-region\.example-cloud-provider\.example\.com/,
  );
  t.regex(wide.stdout, /^ {2}VERDICT +TARGET +PORTS +LAST SEEN +SOURCE +REASON$/m);
  t.regex(wide.stdout, /not used, but there is no record of when it was declared/);
  t.regex(wide.stdout, /2026-11-25T09:40:00Z/);

  const list = [
    "egress",
    "list",
    "--observed",
    "examples/observed/snapshot.yaml",
    "--now",
    EXAMPLE[5] as string,
  ];
  const all = await runCli(list);
  t.regex(all.stdout, /^NAMESPACE +WORKLOAD/);
  const one = await runCli([...list, "-n", "dev", "joke-server"]);
  t.is(one.code, 0, one.stderr);
  t.regex(
    one.stdout,
    /^WORKLOAD +DESTINATION +PORTS +LAST SEEN\njoke-server +kubernetes nats\.dev +4222 +60s\n$/,
  );
});

test("a JSON snapshot (kubectl get -o json) reads as the YAML one", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "otter-json-"));
  const snapshot = join(dir, "snapshot.json");
  const yaml = await runCli(["egress", "diff", ...EXAMPLE, "-o", "json"]);
  const list = loadYaml(readFileSync("examples/observed/snapshot.yaml", "utf8"));
  // As kubectl writes it: four spaces, a newline at the end.
  writeFileSync(snapshot, `${JSON.stringify(list, null, 4)}\n`);
  const json = await runCli([
    "egress",
    "diff",
    ...EXAMPLE.slice(0, 3),
    snapshot,
    ...EXAMPLE.slice(4),
    "-o",
    "json",
  ]);
  t.is(json.code, yaml.code, json.stderr);
  t.deepEqual(JSON.parse(json.stdout).workloads, JSON.parse(yaml.stdout).workloads);
});

test("a snapshot the collector had to cut: what would be unnecessary is unverified, and says why", async (t) => {
  const text = readFileSync("examples/observed/snapshot.yaml", "utf8").replace(
    '      updatedAt: "2026-11-25T09:58:00Z"\n',
    '      updatedAt: "2026-11-25T09:58:00Z"\n      truncated: "destinations (over 512 KiB)"\n',
  );
  const snapshot = tmp("cut.yaml", text);
  const r = await diffAgainst(snapshot, "--now", "2026-11-25T10:00:00Z", "-o", "json");
  t.is(r.code, 1, r.stderr);
  const findings = (
    JSON.parse(r.stdout) as {
      workloads: Array<{ findings: Array<{ verdict: string; code: string; reason: string }> }>;
    }
  ).workloads.flatMap((w) => w.findings);
  t.false(findings.some((f) => f.verdict === "unnecessary"));
  const cut = findings.find((f) => f.code === "ObservationsTruncated");
  t.truthy(cut);
  t.regex(cut?.reason ?? "", /cut the workload's ObservedEgress \(destinations \(over 512 KiB\)\)/);
  // What was observed is still judged: the missing target stays missing.
  t.true(findings.some((f) => f.verdict === "missing"));
});

test("a newer collector's unknown fields are tolerated; a malformed dnsName is an error", async (t) => {
  const snapshot = readFileSync("examples/observed/snapshot.yaml", "utf8");
  const newer = tmp(
    "newer.yaml",
    snapshot.replace(
      "- internet: { dnsName: api.openai.com, ips: [104.18.7.192, 104.18.6.192], ports: [443] }",
      "- internet: { dnsName: api.openai.com, ips: [104.18.7.192, 104.18.6.192], ports: [443], protocol: TCP }\n          hits: 12",
    ),
  );
  const ok = await diffAgainst(newer, "--now", "2026-11-25T10:00:00Z");
  t.is(ok.code, 1, ok.stderr);
  t.is(ok.stderr, "");
  const bad = tmp(
    "bad-name.yaml",
    snapshot.replace("dnsName: api.openai.com,", 'dnsName: "api..openai.com",'),
  );
  const r = await diffAgainst(bad);
  t.is(r.code, 2);
  t.regex(
    r.stderr,
    /^error: .*bad-name\.yaml:\d+: .*dnsName: "api\.\.openai\.com" is not a DNS name/,
  );
});
