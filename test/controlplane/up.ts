// npm run cluster:up — starts a local control plane in <repo>/.cache/cluster that keeps running
// after this script returns, applies the ClientIntents CRD and the chart's CRDs, and prints the
// kubeconfig path on stdout:
//
//   export KUBECONFIG=$(npm run --silent cluster:up)
//
// With --node (npm run --silent cluster:up -- --node) it starts a real one-node cluster in
// <repo>/.cache/node instead: kubelet, kube-proxy, controller manager, scheduler, containerd and
// CoreDNS as a pod, with the product's and the tests' images imported (see node.ts).
//
// Running it again while the cluster is up re-applies the CRDs only.

import * as fs from "node:fs";
import * as path from "node:path";
import { applyCrds, findRepoRoot, runningIn, startControlPlane, stopDir } from "./controlplane.js";
import { crdFiles } from "./crds.js";
import { startNode } from "./node.js";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const node = args.includes("--node");
  if (args.some((a) => a !== "--node")) throw new Error("usage: cluster:up [-- --node]");
  const repoRoot = findRepoRoot();
  const dir = path.join(repoRoot, ".cache", node ? "node" : "cluster");
  const crds = crdFiles(repoRoot);
  const kubeconfig = path.join(dir, "kubeconfig");
  const started = Date.now();
  if (runningIn(dir).length > 0 && fs.existsSync(kubeconfig)) {
    process.stderr.write(`cluster already running in ${dir}; re-applying CRDs\n`);
    await applyCrds(kubeconfig, crds);
  } else if (node) {
    const cluster = await startNode({
      dir,
      crds,
      detached: true,
      log: (l) => process.stderr.write(`cluster:up: ${l}\n`),
    });
    process.stderr.write(
      `node ${cluster.nodeName} up in ${((Date.now() - started) / 1000).toFixed(1)}s at ` +
        `${cluster.server} (logs in ${dir}); stop it with npm run cluster:down\n`,
    );
  } else {
    await stopDir(dir); // leftovers of a crashed run
    const cp = await startControlPlane({ dir, crds, detached: true });
    process.stderr.write(
      `control plane up in ${((Date.now() - started) / 1000).toFixed(1)}s at ${cp.server} ` +
        `(logs in ${dir}); stop it with npm run cluster:down\n`,
    );
  }
  process.stdout.write(`${kubeconfig}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`cluster:up failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
