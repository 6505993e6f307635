import { spawnSync } from "node:child_process";
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import test from "ava";
import { XMLParser } from "fast-xml-parser";
import { load } from "js-yaml";

/**
 * The CI integrations as shipped: the GitHub Action's check step (scripts/github-action.sh, run
 * with the INPUT_* variables action.yml maps) and the documented GitLab job's script, both run
 * for real against the example in a scratch git repository.
 */

const ROOT = process.cwd();
const PLUGIN = `node ${resolve(ROOT, "bin/kubectl-otter.js")}`;

type Obj = Record<string, unknown>;

test("action.yml declares the inputs and hands each to the check step", (t) => {
  const action = load(readFileSync("action.yml", "utf8")) as Obj;
  const inputs = Object.keys(action.inputs as Obj);
  t.deepEqual(inputs, [
    "intents",
    "snapshot",
    "window",
    "fail-on",
    "base",
    "sarif-file",
    "version",
  ]);
  const runs = action.runs as { using: string; steps: Array<Obj> };
  t.is(runs.using, "composite");
  // No Node set-up and no npm install: the released binary.
  t.deepEqual(
    runs.steps.map((s) => s.uses ?? s.name),
    ["Install kubectl otter", "Check egress drift"],
  );
  const install = runs.steps[0] as Obj;
  t.regex(install.run as string, /scripts\/github-action-install\.sh/);
  t.is((install.env as Obj).OTTER_VERSION, "${{ inputs.version }}");
  const check = runs.steps.find((s) => s.name === "Check egress drift") as Obj;
  t.regex(check.run as string, /scripts\/github-action\.sh/);
  for (const input of inputs.filter((i) => i !== "version")) {
    const variable = `INPUT_${input.toUpperCase().replace(/-/g, "_")}`;
    t.is((check.env as Obj)[variable], `\${{ inputs.${input} }}`, variable);
  }
});

function action(env: Record<string, string>) {
  return spawnSync("bash", [join(ROOT, "scripts/github-action.sh")], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, OTTER_PLUGIN: PLUGIN, NO_COLOR: "", ...env },
  });
}

test("the action's check annotates, writes the job summary and SARIF, and fails on drift", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "otter-action-"));
  const summary = join(dir, "summary.md");
  const sarif = join(dir, "egress.sarif");
  writeFileSync(summary, "");
  const r = action({
    INPUT_INTENTS: "examples/intents/joke-worker.yaml\nexamples/intents/joke-server.yaml",
    INPUT_SNAPSHOT: "examples/observed/snapshot.yaml",
    INPUT_WINDOW: "168h",
    INPUT_FAIL_ON: "missing,unnecessary",
    INPUT_BASE: "",
    INPUT_SARIF_FILE: sarif,
    GITHUB_STEP_SUMMARY: summary,
  });
  t.is(r.status, 1, r.stderr);
  t.regex(r.stdout, /^::error file=examples\/intents\/joke-worker\.yaml,line=28,/m);
  t.regex(readFileSync(summary, "utf8"), /^## Egress drift\n/);
  t.is(JSON.parse(readFileSync(sarif, "utf8")).version, "2.1.0");
});

test("the action passes --fail-on and --base through", (t) => {
  const r = action({
    INPUT_INTENTS: "examples/intents",
    INPUT_SNAPSHOT: "examples/observed/snapshot.yaml",
    INPUT_FAIL_ON: "none",
    INPUT_BASE: "examples/intents",
  });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^::warning file=examples\/intents\/joke-worker\.yaml,line=28,/m);
  const bad = action({ INPUT_INTENTS: "examples/intents", INPUT_SNAPSHOT: "no/such/file.yaml" });
  t.is(bad.status, 2);
  t.regex(bad.stderr, /no\/such\/file\.yaml: no such file or directory/);
});

function git(cwd: string, ...args: string[]) {
  const r = spawnSync("git", args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

test("the documented GitLab job fails the merge request that removes a used target, with a JUnit report", (t) => {
  const job = (load(readFileSync("examples/ci/gitlab-ci.yml", "utf8")) as Obj)["egress-drift"] as {
    variables: Record<string, string>;
    script: string[];
    artifacts: { reports: { junit: string } };
  };
  t.is(job.artifacts.reports.junit, "egress-drift.xml");

  // A repository whose main branch has the example's intents, and a merge request that drops
  // api.openai.com, which the workload still calls.
  const dir = mkdtempSync(join(tmpdir(), "otter-gitlab-"));
  const origin = join(dir, "origin.git");
  const work = join(dir, "work");
  git(dir, "init", "--quiet", "--bare", "-b", "main", origin);
  git(dir, "clone", "--quiet", origin, work);
  git(work, "config", "user.email", "ci@example.com");
  git(work, "config", "user.name", "ci");
  cpSync("examples/intents", join(work, "intents"), { recursive: true });
  mkdirSync(join(work, "observed"));
  cpSync("examples/observed/snapshot.yaml", join(work, "observed/snapshot.yaml"));
  git(work, "add", ".");
  git(work, "commit", "--quiet", "-m", "intents");
  git(work, "push", "--quiet", "origin", "main");
  git(work, "checkout", "--quiet", "-b", "drop-openai");
  const worker = join(work, "intents/joke-worker.yaml");
  writeFileSync(
    worker,
    readFileSync(worker, "utf8").replace(
      "          - api.openai.com\n",
      "          - api.openai.example\n",
    ),
  );
  git(work, "commit", "--quiet", "-am", "drop openai");

  // kubectl-otter on PATH, as the job's before_script installs it.
  const bin = join(dir, "bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "kubectl-otter"), `#!/bin/sh\nexec ${PLUGIN} "$@"\n`);
  chmodSync(join(bin, "kubectl-otter"), 0o755);
  const r = spawnSync("bash", ["-eo", "pipefail", "-c", job.script.join("\n")], {
    cwd: work,
    encoding: "utf8",
    env: {
      ...process.env,
      ...job.variables,
      PATH: `${bin}:${process.env.PATH ?? ""}`,
      CI_MERGE_REQUEST_TARGET_BRANCH_NAME: "main",
    },
  });
  t.is(r.status, 1, r.stderr);
  const report = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(
    readFileSync(join(work, "egress-drift.xml"), "utf8"),
  );
  const worker_case = report.testsuites.testsuite.testcase.find(
    (c: Obj) => c.name === "dev/joke-worker (Deployment)",
  );
  t.regex(
    worker_case.failure["#text"],
    /missing: api\.openai\.com \(port 443\): still observed, but this change removes the intent that declared it/,
  );
  t.regex(readFileSync(join(work, "egress-drift.md"), "utf8"), /```mermaid/);
});

/** A release folder as GitHub serves one: the archive and its sha256, under v<version>/. */
function release(root: string, version: string, tamper = false): void {
  const stage = join(root, "stage");
  mkdirSync(stage, { recursive: true });
  writeFileSync(join(stage, "kubectl-otter"), `#!/bin/sh\necho "kubectl-otter ${version}"\n`, {
    mode: 0o755,
  });
  writeFileSync(join(stage, "LICENSE"), "license\n");
  const dir = join(root, "releases", `v${version}`);
  mkdirSync(dir, { recursive: true });
  const archive = "kubectl-otter_linux_amd64.tar.gz";
  spawnSync("tar", ["-czf", join(dir, archive), "-C", stage, "kubectl-otter", "LICENSE"]);
  const sum = createHash("sha256")
    .update(readFileSync(join(dir, archive)))
    .digest("hex");
  writeFileSync(join(dir, `${archive}.sha256`), `${tamper ? "0".repeat(64) : sum}  ${archive}\n`);
}

test("the action installs the released binary, checked against its sha256, onto PATH", (t) => {
  const root = mkdtempSync(join(tmpdir(), "otter-release-"));
  release(root, "9.8.7");
  const githubPath = join(root, "github-path");
  writeFileSync(githubPath, "");
  const install = (version: string) =>
    spawnSync("bash", [join(ROOT, "scripts/github-action-install.sh")], {
      encoding: "utf8",
      env: {
        ...process.env,
        OTTER_VERSION: version,
        OTTER_RELEASES: `file://${join(root, "releases")}`,
        RUNNER_TEMP: root,
        GITHUB_PATH: githubPath,
      },
    });
  const r = install("v9.8.7");
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, "kubectl-otter 9.8.7\n");
  const dir = readFileSync(githubPath, "utf8").trim();
  t.deepEqual(readdirSync(dir).sort(), ["LICENSE", "kubectl-otter"]);
  const missing = install("v0.0.0");
  t.is(missing.status, 2);
  t.regex(
    missing.stderr,
    /^error: cannot download .*v0\.0\.0\/kubectl-otter_linux_amd64\.tar\.gz\n$/,
  );
  release(root, "6.6.6", true);
  const tampered = install("v6.6.6");
  t.is(tampered.status, 2);
  t.regex(tampered.stderr, /does not match its published sha256/);
});
