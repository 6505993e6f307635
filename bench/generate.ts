import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Generated benchmark input: `workloads` ObservedEgress objects with `perWorkload`
 * destinations each, in one List snapshot, and one ClientIntents file per workload that
 * declares most of them (some missing, some unnecessary), across several namespaces.
 */

function ip(n: number): string {
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

export function generate(
  dir: string,
  workloads: number,
  perWorkload = 30,
): { intents: string; observed: string } {
  const intentsDir = join(dir, "intents");
  mkdirSync(intentsDir, { recursive: true });
  const snapshot: string[] = ["apiVersion: v1", "kind: List", "items:"];
  for (let w = 0; w < workloads; w++) {
    const ns = `team-${w % 50}`;
    const name = `svc-${w}`;
    const dests: string[] = [];
    const declared: string[] = [];
    const targets: string[] = [];
    for (let d = 0; d < perWorkload; d++) {
      const lastSeen = d % 10 === 9 ? "2026-10-01T00:00:00Z" : "2026-11-25T09:00:00Z";
      if (d % 6 === 5) {
        dests.push(
          `    - kubernetes: {name: dep-${d}, namespace: ${ns}, kind: Deployment, service: dep-${d}, ports: [8080]}`,
          `      firstSeen: "2026-11-01T00:00:00Z"`,
          `      lastSeen: "${lastSeen}"`,
        );
        if (d % 4 !== 0) targets.push(`    - kubernetes: {name: dep-${d}, kind: Deployment}`);
      } else if (d % 6 === 4) {
        dests.push(
          `    - internet: {ips: [${ip(w * perWorkload + d)}], ports: [443]}`,
          `      firstSeen: "2026-11-01T00:00:00Z"`,
          `      lastSeen: "${lastSeen}"`,
        );
        targets.push(`    - internet: {ips: [${ip(w * perWorkload + d)}/32], ports: [443]}`);
      } else {
        const host = `api-${d}.vendor-${w % 97}.example.com`;
        dests.push(
          `    - internet: {dnsName: ${host}, ips: [${ip(w * perWorkload + d)}, ${ip(w * perWorkload + d + 1)}], ports: [443]}`,
          `      firstSeen: "2026-11-01T00:00:00Z"`,
          `      lastSeen: "${lastSeen}"`,
        );
        if (d % 7 !== 3) targets.push(`    - internet: {domains: [${host}], ports: [443]}`);
        declared.push(
          `    - target: {internet: {domains: [${host}]}}`,
          `      since: "2026-10-01T00:00:00Z"`,
        );
      }
    }
    targets.push(
      `    - internet: {domains: ["*.unused-${w}.example.org"]}`,
      `    - aws: {arn: "arn:aws:s3:::bucket-${w}"}`,
    );
    declared.push(
      `    - target: {internet: {domains: ["*.unused-${w}.example.org"]}}`,
      `      since: "2026-09-01T00:00:00Z"`,
    );
    snapshot.push(
      "- apiVersion: egress.otter.dev/v1alpha1",
      "  kind: ObservedEgress",
      `  metadata: {name: ${name}, namespace: ${ns}}`,
      `  spec: {workload: {name: ${name}, kind: Deployment}}`,
      "  status:",
      '    observingSince: "2026-11-01T00:00:00Z"',
      '    updatedAt: "2026-11-25T09:00:00Z"',
      "    destinations:",
      ...dests.map((l) => `  ${l}`),
      "    declared:",
      ...declared.map((l) => `  ${l}`),
    );
    writeFileSync(
      join(intentsDir, `${name}.yaml`),
      [
        "apiVersion: k8s.otterize.com/v2beta1",
        "kind: ClientIntents",
        "metadata:",
        `  name: ${name}`,
        `  namespace: ${ns}`,
        "spec:",
        "  workload:",
        `    name: ${name}`,
        "    kind: Deployment",
        "  targets:",
        ...targets,
        "",
      ].join("\n"),
    );
  }
  const observed = join(dir, "observed.yaml");
  writeFileSync(observed, snapshot.join("\n") + "\n");
  // On disk before anything is timed: the kernel writes dirty pages back about 30 s after they
  // were written (up to 1 GB here), and that would fall into the first round measured.
  execFileSync("sync", ["-f", observed]);
  return { intents: intentsDir, observed };
}
