import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import test from "ava";
import { MALLOC_ENV, restartArgs } from "../cmd/malloc-arena.js";

/**
 * The plugin's V8 flags (ADR 15) and malloc setting (ADR 19) are given in two places, which
 * must agree; a plugin started without the setting runs itself again with it.
 */

const root = new URL("../../", import.meta.url);
const flags = JSON.parse(
  readFileSync(new URL("cmd/plugin-exec-argv.json", root), "utf8"),
) as string[];

test("bin/kubectl-otter.js runs node with the flags the single binary is built with", (t) => {
  t.true(flags.length > 0);
  const first = readFileSync(new URL("bin/kubectl-otter.js", root), "utf8").split("\n")[0];
  const env = Object.entries(MALLOC_ENV).map(([k, v]) => `${k}=${v}`);
  t.is(first, `#!/usr/bin/env -S ${env.join(" ")} node ${flags.join(" ")}`);
});

test("run again, the plugin keeps its V8 flags and arguments; a single binary its arguments", (t) => {
  const p = {
    execPath: "/usr/bin/node",
    execArgv: ["--expose-gc", "--max-semi-space-size=16"],
    argv: ["/usr/bin/node", "/opt/otter/bin/kubectl-otter.js", "egress", "diff", "-A"],
  };
  t.deepEqual(restartArgs(p, false), [
    "/usr/bin/node",
    "--expose-gc",
    "--max-semi-space-size=16",
    "/opt/otter/bin/kubectl-otter.js",
    "egress",
    "diff",
    "-A",
  ]);
  const sea = {
    execPath: "/usr/local/bin/kubectl-otter",
    execArgv: [],
    argv: ["/usr/local/bin/kubectl-otter", "/usr/local/bin/kubectl-otter", "egress", "list"],
  };
  t.deepEqual(restartArgs(sea, true), ["/usr/local/bin/kubectl-otter", "egress", "list"]);
});

test("started without it, the plugin runs with one malloc arena, its V8 flags and its stdin", async (t) => {
  if (process.platform !== "linux") return t.pass("only Linux's glibc reads MALLOC_ARENA_MAX");
  const env = { ...process.env };
  delete env.MALLOC_ARENA_MAX;
  const child = spawn(
    process.execPath,
    [...flags, "bin/kubectl-otter.js", "egress", "list", "--observed", "-"],
    { cwd: new URL(".", root).pathname, env, stdio: ["pipe", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((done) => child.on("exit", done));
  // While it waits for stdin: what the process (the same one, run again) is running with.
  let environ = "";
  let cmdline: string[] = [];
  for (let i = 0; i < 200 && !environ.includes("MALLOC_ARENA_MAX="); i++) {
    await new Promise((r) => setTimeout(r, 25));
    environ = readFileSync(`/proc/${child.pid}/environ`, "utf8");
    cmdline = readFileSync(`/proc/${child.pid}/cmdline`, "utf8").split("\0");
  }
  t.true(
    environ.split("\0").includes("MALLOC_ARENA_MAX=1"),
    "MALLOC_ARENA_MAX=1 in its environment",
  );
  for (const f of flags) t.true(cmdline.includes(f), `${f} in ${cmdline.join(" ")}`);
  child.stdin.end(readFileSync(new URL("examples/observed/snapshot.yaml", root)));
  t.is(await exited, 0, stderr);
  t.regex(stdout, /^NAMESPACE +WORKLOAD +DESTINATION/);
});
