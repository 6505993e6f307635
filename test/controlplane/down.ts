// npm run cluster:down — stops the control plane started by cluster:up and
// removes <repo>/.cache/cluster. With a directory argument it cleans up any
// control-plane dir instead (leftovers of a test run that was killed):
//
//   node dist/test/controlplane/down.js /tmp/some-test-dir

import * as path from "node:path";
import { findRepoRoot, stopDir } from "./controlplane.js";

async function main(): Promise<void> {
  const arg = process.argv[2];
  const dir = arg ? path.resolve(arg) : path.join(findRepoRoot(), ".cache", "cluster");
  const killed = await stopDir(dir);
  if (killed.length === 0) {
    process.stderr.write(`no control plane running in ${dir}; removed it\n`);
  } else {
    const what = killed.map((e) => `${e.name} (${e.pid})`).join(", ");
    process.stderr.write(`stopped ${what}; removed ${dir}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `cluster:down failed: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exitCode = 1;
});
