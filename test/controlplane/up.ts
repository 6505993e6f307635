// npm run cluster:up — starts a local control plane in <repo>/.cache/cluster
// that keeps running after this script returns, applies the ClientIntents CRD
// and the chart's CRDs, and prints the kubeconfig path on stdout:
//
//   export KUBECONFIG=$(npm run --silent cluster:up)
//
// Running it again while the cluster is up re-applies the CRDs only.

import * as fs from "node:fs";
import * as path from "node:path";
import { applyCrds, findRepoRoot, runningIn, startControlPlane, stopDir } from "./controlplane.js";

function clusterDir(repoRoot: string): string {
  return path.join(repoRoot, ".cache", "cluster");
}

function crdFiles(repoRoot: string): string[] {
  const files = [
    path.resolve(repoRoot, "..", "shared", "crds", "k8s.otterize.com_clientintents.yaml"),
  ];
  const chartCrds = path.join(repoRoot, "charts", "otter-egress", "crds");
  if (fs.existsSync(chartCrds)) {
    for (const f of fs.readdirSync(chartCrds).sort()) {
      if (/\.ya?ml$/.test(f)) files.push(path.join(chartCrds, f));
    }
  }
  for (const f of files) {
    if (!fs.existsSync(f)) throw new Error(`CRD file not found: ${f}`);
  }
  return files;
}

async function main(): Promise<void> {
  const repoRoot = findRepoRoot();
  const dir = clusterDir(repoRoot);
  const crds = crdFiles(repoRoot);
  const kubeconfig = path.join(dir, "kubeconfig");
  if (runningIn(dir).length > 0 && fs.existsSync(kubeconfig)) {
    process.stderr.write(`cluster already running in ${dir}; re-applying CRDs\n`);
    await applyCrds(kubeconfig, crds);
  } else {
    await stopDir(dir); // leftovers of a crashed run
    const started = Date.now();
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
