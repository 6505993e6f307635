// The CRDs every test cluster gets: Otterize's ClientIntents (from ../shared/crds, which no
// registry serves) and the chart's own.

import * as fs from "node:fs";
import * as path from "node:path";

export function crdFiles(repoRoot: string): string[] {
  const files = [
    path.resolve(repoRoot, "..", "shared", "crds", "k8s.otterize.com_clientintents.yaml"),
  ];
  const chartCrds = path.join(repoRoot, "charts", "otter-egress", "files", "crds");
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
