import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { checkRuntime, OLDEST_NODE } from "../src/cli/runtime.js";
import { UsageError } from "../src/errors.js";
import { BIN, writeUnreachableKubeconfig } from "./helpers/cli.js";

/** The plugin on a Node.js too old for it says so, instead of failing inside the client. */

test("the oldest Node.js is package.json's engines", (t) => {
  const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { engines: { node: string } };
  t.is(`>=${OLDEST_NODE.replace(/\.0$/, "")}`, pkg.engines.node);
});

test("older versions are refused with what to do, newer ones pass", (t) => {
  for (const v of ["20.20.2", "v22.11.0", "24.11.9", "24.0.0"]) {
    const e = t.throws(() => checkRuntime(v), { instanceOf: UsageError }, v);
    t.regex(
      e?.message ?? "",
      /needs Node\.js 24\.12\.0 or later, and this is Node\.js \d+\.\d+\.\d+/,
    );
  }
  for (const v of ["24.12.0", "v24.22.3", "25.0.0", "26.1.0-pre"])
    t.notThrows(() => checkRuntime(v), v);
});

// The machine's own node, where it is older (Debian's, or Node 20 as on these machines).
const system = "/usr/bin/node";
const systemVersion = existsSync(system)
  ? spawnSync(system, ["-p", "process.versions.node"], { encoding: "utf8" }).stdout.trim()
  : "";
const older = (() => {
  try {
    if (!systemVersion) return false;
    checkRuntime(systemVersion);
    return false;
  } catch {
    return true;
  }
})();

(older ? test : test.skip)(
  `run by an older node (${systemVersion || "none on this machine"}), a command is refused in one line, exit 2`,
  (t) => {
    // A cluster's read is what failed there (inside the client), before the cluster answered.
    const dir = mkdtempSync(join(tmpdir(), "otter-runtime-"));
    const kubeconfig = writeUnreachableKubeconfig(join(dir, "kubeconfig"));
    try {
      const r = spawnSync(system, [BIN, "egress", "diff", "--kubeconfig", kubeconfig], {
        encoding: "utf8",
      });
      t.is(r.status, 2, r.stderr);
      t.is(r.stdout, "");
      t.regex(r.stderr, /^error: kubectl-otter needs Node\.js 24\.12\.0 or later/);
      t.notRegex(r.stderr, /internal error/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
