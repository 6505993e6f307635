import test from "ava";
import { dump, load } from "js-yaml";
import type { ControlPlane } from "../controlplane/controlplane.js";
import {
  applyLease,
  applyObserved,
  ensureNamespace,
  kubectl,
  startCluster,
} from "../helpers/cluster.js";
import { runCli } from "../helpers/cli.js";
import * as clusterSources from "../../cmd/cluster-sources.js";
import type { Io } from "../../cmd/kubectl-otter.js";
import { diffByNamespace } from "../../cmd/streamed-diff.js";
import { parseRequest } from "../../src/cli/invocation.js";
import {
  ago,
  clientIntents,
  DAY,
  HOUR,
  internet,
  kube,
  observedEgress,
} from "../helpers/factories.js";

/**
 * `diff -o json` of the cluster's own objects is judged namespace by namespace as the API
 * server's paged lists arrive (ADR 17). Against a real API server, in pages of every size, it
 * says what the whole read says (`-o yaml` reads both lists whole first).
 */

const NOW = "2026-11-25T10:00:00Z";
let cp: ControlPlane;
/**
 * Namespaces the API server lists in another order than their names ("a-1/…" and "team-1/…"
 * come before "a/…" and "team/…"), and one-sided ones.
 */
const BOTH = ["a", "a-1", "b", "team", "team-1", "team-10", "team-2"];
const ONLY_INTENTS = "declared-only";
const ONLY_OBSERVED = "observed-only";

test.before(async () => {
  cp = await startCluster();
  const k = cp.kubeconfig;
  const intents: object[] = [];
  const observed: Array<Record<string, unknown>> = [];
  for (const ns of [...BOTH, ONLY_INTENTS, ONLY_OBSERVED]) {
    await ensureNamespace(k, ns);
    for (const name of ["api", "worker", "cron"]) {
      if (ns !== ONLY_OBSERVED)
        intents.push(
          clientIntents({
            name,
            namespace: ns,
            kind: "Deployment",
            targets: [
              { internet: { domains: ["api.openai.com"], ports: [443] } },
              { internet: { domains: [`${name}.unused.example.com`] } },
              { kubernetes: { name: `redis.${ns}` } },
            ],
          }),
        );
      if (ns !== ONLY_INTENTS)
        observed.push(
          observedEgress({
            name,
            namespace: ns,
            observingSince: ago(30 * DAY),
            destinations: [
              internet("api.openai.com", ["104.18.7.192"], [443], ago(HOUR)),
              internet("s3.amazonaws.com", ["52.216.0.1"], [443], ago(2 * HOUR)),
              kube("redis", ns, { ports: [6379], lastSeen: ago(3 * HOUR) }),
            ],
            declared: [[{ internet: { domains: [`${name}.unused.example.com`] } }, ago(20 * DAY)]],
          }),
        );
    }
  }
  await kubectl(k, ["apply", "-f", "-"], intents.map((o) => dump(o)).join("---\n"));
  await applyObserved(k, observed);
  await applyLease(k, "otter-egress", "2026-11-25T09:59:30Z");
});

test.after.always(async () => {
  await cp?.stop();
});

const diff = (output: string, ...flags: string[]) =>
  runCli(["egress", "diff", "--kubeconfig", cp.kubeconfig, "--now", NOW, "-o", output, ...flags]);

interface Report {
  summary: { workloads: number; missing: number };
  workloads: Array<{ workload: { namespace: string; name: string } }>;
}

/**
 * The plugin's namespace-by-namespace run itself, on the real API server: undefined if it fell
 * back to reading the lists whole (which the command line would then do, unseen).
 */
async function byNamespace(...flags: string[]): Promise<string | undefined> {
  const args = ["egress", "diff", "--kubeconfig", cp.kubeconfig, "--now", NOW, "-o", "json"];
  const request = parseRequest([...args, ...flags]);
  if (request.kind !== "run") throw new Error("expected a run");
  const inv = request.invocation;
  const io: Io = {
    stdout: () => undefined,
    stderr: () => undefined,
    stdin: () => "",
    env: {},
    isTTY: false,
    clock: () => Date.now(),
  };
  const cluster = clusterSources.Cluster.connect(inv.kube);
  const judged = await diffByNamespace(inv, io, clusterSources, cluster);
  if (!judged) return undefined;
  return [...judged.stdout]
    .map((c) => (typeof c === "string" ? c : Buffer.from(c).toString("utf8")))
    .join("");
}

for (const chunk of ["1", "2", "7", "500", "0"]) {
  test(`-A in pages of ${chunk}: the report read namespace by namespace is the whole read's`, async (t) => {
    const [json, yaml, direct] = await Promise.all([
      diff("json", "-A", "--chunk-size", chunk),
      diff("yaml", "-A", "--chunk-size", chunk),
      byNamespace("-A", "--chunk-size", chunk),
    ]);
    t.is(json.stderr, "");
    t.not(direct, undefined, "read namespace by namespace, not whole");
    t.is(direct, json.stdout);
    const report = JSON.parse(json.stdout) as Report;
    t.deepEqual(report, load(yaml.stdout));
    t.is(json.code, yaml.code);
    t.is(json.code, 1, "s3.amazonaws.com is observed and declared nowhere");
    // Every workload of every namespace, declared or observed, in the report's order.
    t.is(report.summary.workloads, 9 * 3);
    t.deepEqual(
      report.workloads.map((w) => w.workload.namespace),
      [...BOTH, ONLY_INTENTS, ONLY_OBSERVED].sort().flatMap((ns) => [ns, ns, ns]),
    );
  });
}

test("-n: one namespace, the same as its whole read", async (t) => {
  const [json, yaml] = await Promise.all([
    diff("json", "-n", "team-10", "--chunk-size", "2"),
    diff("yaml", "-n", "team-10", "--chunk-size", "2"),
  ]);
  const report = JSON.parse(json.stdout) as Report;
  t.deepEqual(report, load(yaml.stdout));
  t.is(report.summary.workloads, 3);
  t.is(json.code, yaml.code);
});
