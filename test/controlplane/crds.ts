// The CRDs every test cluster gets: Otterize's ClientIntents and the chart's own.

import * as fs from "node:fs";
import * as path from "node:path";
import { findRepoRoot } from "./controlplane.js";

/** The environment variable naming the folder that holds Otterize's CRD. */
export const CRDS_DIR_VARIABLE = "OTTER_EGRESS_CRDS_DIR";
export const OTTERIZE_CRD = "k8s.otterize.com_clientintents.yaml";

/**
 * Otterize's ClientIntents CRD. No package registry serves it, so it is read from a folder:
 * $OTTER_EGRESS_CRDS_DIR, else the `crds` folder the CI environment puts beside the checkout.
 * Missing, it is an error that says what to provide.
 */
export function otterizeCrd(repoRoot: string = findRepoRoot()): string {
  const given = process.env[CRDS_DIR_VARIABLE];
  const dir = given ? path.resolve(given) : path.resolve(repoRoot, "..", "shared", "crds");
  const file = path.join(dir, OTTERIZE_CRD);
  if (!fs.existsSync(file)) {
    throw new Error(
      `Otterize's ClientIntents CRD (${OTTERIZE_CRD}) is not in ${dir}, and no package ` +
        `registry serves it: set ${CRDS_DIR_VARIABLE} to a folder that holds it (the CRD of ` +
        `Otterize's intents operator, as its Helm chart installs it).`,
    );
  }
  return file;
}

export function crdFiles(repoRoot: string): string[] {
  const files = [otterizeCrd(repoRoot)];
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
