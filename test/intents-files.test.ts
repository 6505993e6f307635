import test from "ava";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, runCli } from "./helpers/cli.js";

/**
 * A repository with thousands of ClientIntents files: each file's parse (with the parser
 * events kept for its lines) is several times its text, and must be let go once its
 * ClientIntents are read, or a large repository needs gigabytes to diff.
 */

function repository(files: number, targets: number): string {
  const dir = mkdtempSync(join(tmpdir(), "otter-many-intents-"));
  const intents = join(dir, "intents");
  mkdirSync(intents);
  for (let f = 0; f < files; f++) {
    const lines = [
      "apiVersion: k8s.otterize.com/v2beta1",
      "kind: ClientIntents",
      `metadata: {name: svc-${f}, namespace: team-${f % 20}}`,
      "spec:",
      `  workload: {name: svc-${f}, kind: Deployment}`,
      "  targets:",
    ];
    for (let t = 0; t < targets; t++) {
      lines.push(
        t % 3 === 0
          ? `    - kubernetes: {name: dep-${t}, kind: Deployment}`
          : `    - internet: {domains: [api-${t}.vendor-${f % 97}.example.com], ports: [443]}`,
      );
    }
    writeFileSync(join(intents, `svc-${f}.yaml`), lines.join("\n") + "\n");
  }
  writeFileSync(join(dir, "observed.yaml"), "apiVersion: v1\nkind: List\nitems: []\n");
  return dir;
}

/** `egress diff` of a repository()'s intents against its snapshot. */
function diffOf(dir: string): string[] {
  return [
    "egress",
    "diff",
    "--intents",
    join(dir, "intents"),
    "--observed",
    join(dir, "observed.yaml"),
  ];
}

test("3,000 ClientIntents files are diffed in a 64 MiB heap: no file's parse outlives its reading", (t) => {
  const dir = repository(3000, 40);
  try {
    const run = spawnSync(
      process.execPath,
      ["--max-old-space-size=64", BIN, ...diffOf(dir), "-o", "json"],
      { encoding: "utf8", maxBuffer: 1 << 28 },
    );
    t.is(run.status, 0, run.stderr.slice(-400));
    const out = JSON.parse(run.stdout) as { workloads: Array<{ workload: { name: string } }> };
    t.is(new Set(out.workloads.map((w) => w.workload.name)).size, 3000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const ONE_INTENTS = [
  "apiVersion: k8s.otterize.com/v2beta1",
  "kind: ClientIntents",
  "metadata: {name: client, namespace: dev}",
  "spec:",
  "  workload: {name: client, kind: Deployment}",
  "  targets:",
  "    - internet: {domains: [api.example.com], ports: [443]}",
  "",
].join("\n");

test("intents from a pipe (--intents /dev/stdin, <(git show …)) are read", (t) => {
  const dir = repository(0, 0);
  try {
    const file = join(dir, "client.yaml");
    writeFileSync(file, ONE_INTENTS);
    // A shell's pipe, as `<(…)` gives (Node's own stdin pipes are sockets).
    const r = spawnSync(
      "sh",
      [
        "-c",
        'cat "$1" | "$0" "$2" egress diff --intents /dev/stdin --observed "$3"',
        process.execPath,
        file,
        BIN,
        join(dir, "observed.yaml"),
      ],
      { encoding: "utf8" },
    );
    t.is(r.status, 0, r.stderr);
    t.is(r.stderr, "");
    t.regex(r.stdout, /dev\/client/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a dangling or looping link among the intents files is an input error naming it", async (t) => {
  const dir = repository(1, 1);
  try {
    const link = join(dir, "intents", "zz.yaml");
    symlinkSync(join(dir, "gone.yaml"), link);
    const dangling = await runCli(diffOf(dir));
    t.is(dangling.code, 2);
    t.is(dangling.stderr, `error: ${link}: no such file or directory\n`);
    rmSync(link);
    symlinkSync(link, link);
    const looping = await runCli(diffOf(dir));
    t.is(looping.code, 2);
    t.is(looping.stderr, `error: ${link}: too many levels of symbolic links\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
