// npm run cluster:down — stops what cluster:up started: the control plane in
// <repo>/.cache/cluster and the node (wherever it runs: its state is machine-wide), and restores
// the host. With a directory argument it cleans up that control-plane dir instead (leftovers of
// a test run that was killed); `--node DIR` stops the node in DIR (the tests' watchdog).
//
//   node dist/test/controlplane/down.js [/tmp/some-test-dir | --node DIR]

import * as path from "node:path";
import { findRepoRoot, stopDir } from "./controlplane.js";
import { stopNode } from "./node.js";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === "--node") {
    const done = await stopNode(args[1] ? { dir: path.resolve(args[1]) } : {});
    process.stderr.write(done.length ? `node: ${done.join("; ")}\n` : "no node running\n");
    return;
  }
  const dir = args[0] ? path.resolve(args[0]) : path.join(findRepoRoot(), ".cache", "cluster");
  const killed = await stopDir(dir);
  if (killed.length === 0) {
    process.stderr.write(`no control plane running in ${dir}; removed it\n`);
  } else {
    const what = killed.map((e) => `${e.name} (${e.pid})`).join(", ");
    process.stderr.write(`stopped ${what}; removed ${dir}\n`);
  }
  if (!args[0]) {
    const done = await stopNode();
    if (done.length) process.stderr.write(`node: ${done.join("; ")}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `cluster:down failed: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exitCode = 1;
});
