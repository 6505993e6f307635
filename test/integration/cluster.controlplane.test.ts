import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:net";
import test from "ava";
import { load, loadAll } from "js-yaml";
import type { ControlPlane } from "../controlplane/controlplane.js";
import {
  applyLease,
  applyObserved,
  ensureNamespace,
  exec,
  freePort,
  KUBECTL,
  kubectl,
  kubeconfigWithToken,
  pluginPath,
  startCluster,
} from "../helpers/cluster.js";
import { runCli } from "../helpers/cli.js";

/**
 * The plugin against a real kube-apiserver and etcd: the same verdicts as from files,
 * kubectl's flags, RBAC, and a cluster that does not answer.
 */

const NOW = "2026-11-25T10:00:00Z";
let cp: ControlPlane;
/**
 * The intents applied to the cluster, as files. Without Otterize's conversion webhook (no
 * operator runs here) the API server can only store v2 objects faithfully: the v1alpha3
 * joke-server of the examples is written as v2alpha1, the worker stays v2beta1.
 */
const intentsDir = mkdtempSync(join(tmpdir(), "otter-intents-"));
const SERVER_V2ALPHA1 = `apiVersion: k8s.otterize.com/v2alpha1
kind: ClientIntents
metadata:
  name: joke-server
  namespace: dev
spec:
  workload:
    name: joke-server
    kind: Deployment
  targets:
    - kubernetes:
        name: nats
        kind: StatefulSet
`;

test.before(async () => {
  cp = await startCluster();
  const k = cp.kubeconfig;
  await ensureNamespace(k, "dev");
  writeFileSync(join(intentsDir, "joke-server.yaml"), SERVER_V2ALPHA1);
  copyFileSync("examples/intents/joke-worker.yaml", join(intentsDir, "joke-worker.yaml"));
  await kubectl(k, ["apply", "-f", intentsDir]);
  const snapshot = load(readFileSync("examples/observed/snapshot.yaml", "utf8")) as {
    items: Array<Record<string, unknown>>;
  };
  await applyObserved(k, snapshot.items);
  await applyLease(k, "otter-egress", "2026-11-25T09:59:30Z");
});

test.after.always(async () => {
  await cp?.stop();
});

interface Report {
  summary: Record<string, number>;
  workloads: Array<{
    workload: { namespace: string; name: string };
    findings: Array<{
      verdict: string;
      target: unknown;
      lastSeen?: string;
      reason: string;
      source?: { file: string };
    }>;
  }>;
}

/** `egress diff -o json` against the test cluster, with more flags. */
async function clusterDiff(...flags: string[]) {
  const r = await runCli(["egress", "diff", "--kubeconfig", cp.kubeconfig, "-o", "json", ...flags]);
  return { code: r.code, stderr: r.stderr, report: JSON.parse(r.stdout) as Report };
}

/** What must agree between modes: verdicts, targets and times (sources differ: file vs object). */
function verdicts(report: Report) {
  return report.workloads.map((w) => ({
    workload: w.workload,
    findings: w.findings.map((f) => ({
      verdict: f.verdict,
      target: f.target,
      lastSeen: f.lastSeen,
    })),
  }));
}

test("the same inputs give the same verdicts from files and from the cluster", async (t) => {
  const files = await runCli([
    "egress",
    "diff",
    "--intents",
    intentsDir,
    "--observed",
    "examples/observed/snapshot.yaml",
    "--now",
    NOW,
    "-o",
    "json",
  ]);
  const cluster = await runCli([
    "egress",
    "diff",
    "--kubeconfig",
    cp.kubeconfig,
    "-n",
    "dev",
    "--now",
    NOW,
    "-o",
    "json",
  ]);
  t.is(cluster.stderr, "");
  t.is(cluster.code, files.code);
  const a = JSON.parse(files.stdout) as Report;
  const b = JSON.parse(cluster.stdout) as Report;
  t.deepEqual(verdicts(b), verdicts(a));
  t.deepEqual(b.summary, a.summary);
  t.is(b.summary.unnecessary, 1, "the collector's Lease is fresh, so silence counts");
  const source = b.workloads[1]?.findings.find((f) => f.verdict === "unnecessary")?.source;
  t.is(source?.file, "ClientIntents dev/joke-worker");
});

/** LIST requests the API server has answered for a resource, from its own metrics. */
async function lists(resource: string): Promise<number> {
  const text = await kubectl(cp.kubeconfig, ["get", "--raw", "/metrics"]);
  let n = 0;
  for (const line of text.split("\n")) {
    if (
      line.startsWith("apiserver_request_total{") &&
      line.includes('verb="LIST"') &&
      line.includes(`resource="${resource}"`)
    )
      n += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return n;
}

test.serial(
  "lists are read in chunks of --chunk-size, as kubectl reads them; 0 reads each whole",
  async (t) => {
    const whole = await clusterDiff("-A", "--now", NOW, "--chunk-size", "0");
    const before = await lists("observedegresses");
    const chunked = await clusterDiff("-A", "--now", NOW, "--chunk-size", "1");
    const after = await lists("observedegresses");
    t.deepEqual(verdicts(chunked.report), verdicts(whole.report));
    // One object a chunk: a request for each ObservedEgress, and one that finds none left... or
    // the last one ends the list (the API server says whether more remain).
    const objects = chunked.report.workloads.length;
    t.true(objects >= 2, "the test needs more than one ObservedEgress");
    t.true(after - before >= objects, `${after - before} LIST requests for ${objects} objects`);
    const bad = await runCli([
      "egress",
      "diff",
      "--kubeconfig",
      cp.kubeconfig,
      "--chunk-size",
      "-1",
    ]);
    t.is(bad.code, 2);
    t.regex(bad.stderr, /invalid argument "-1" for "--chunk-size" flag/);
  },
);

test("a ClientIntents applied as v2alpha1 is read back and judged", async (t) => {
  const { report } = await clusterDiff("-n", "dev", "--now", NOW);
  const server = report.workloads.find((w) => w.workload.name === "joke-server");
  t.deepEqual(
    server?.findings.map((f) => [f.verdict, f.target]),
    [["matched", { kubernetes: { name: "nats.dev", kind: "StatefulSet" } }]],
  );
});

test("committed files against the cluster's observations", async (t) => {
  const { code, report } = await clusterDiff(
    "--intents",
    "examples/intents/joke-worker.yaml",
    "--now",
    NOW,
  );
  t.is(code, 1);
  t.is(report.summary.missing, 1);
  t.is(report.workloads[0]?.findings[0]?.source, undefined);
  t.regex(JSON.stringify(report), /examples\/intents\/joke-worker\.yaml/);
});

test("a stale collector Lease turns unnecessary into unverified", async (t) => {
  const later = "2026-11-25T10:30:00Z"; // the Lease was renewed at 09:59:30
  const { code, report } = await clusterDiff(
    "-n",
    "dev",
    "--now",
    later,
    "--fail-on",
    "unnecessary",
  );
  t.is(report.summary.unnecessary, 0);
  const old = report.workloads[1]?.findings.find(
    (f) =>
      (f.target as { internet?: { domains?: string[] } }).internet?.domains?.[0] ===
      "api.jokes.example.com",
  );
  t.is(old?.verdict, "unverified");
  t.regex(old?.reason ?? "", /no observations since 2026-11-25T09:59:30Z/);
  t.is(code, 0);
});

test("without a Lease nothing is unnecessary", async (t) => {
  const { report } = await clusterDiff(
    "-n",
    "dev",
    "--now",
    NOW,
    "--collector-namespace",
    "elsewhere",
  );
  t.is(report.summary.unnecessary, 0);
  t.true(
    report.workloads[1]?.findings.some((f) =>
      /no collector Lease elsewhere\/otter-egress-collector exists/.test(f.reason),
    ),
  );
});

test("the namespace defaults to the context's, and --context picks a context", async (t) => {
  const inDev = kubeconfigWithToken(cp.kubeconfig, cp.token, "dev");
  const r = await runCli(["egress", "list", "--kubeconfig", inDev, "--now", NOW, "-o", "json"]);
  t.is(r.code, 0);
  t.is((JSON.parse(r.stdout) as { workloads: unknown[] }).workloads.length, 2);
  const inDefault = await runCli([
    "egress",
    "list",
    "--kubeconfig",
    cp.kubeconfig,
    "--now",
    NOW,
    "-o",
    "json",
  ]);
  t.is((JSON.parse(inDefault.stdout) as { workloads: unknown[] }).workloads.length, 0);
  const all = await runCli(["egress", "list", "--kubeconfig", cp.kubeconfig, "-A", "-o", "json"]);
  t.is((JSON.parse(all.stdout) as { workloads: unknown[] }).workloads.length, 2);
  const env = await runCli(["egress", "list", "-n", "dev", "-o", "json"], {
    env: { KUBECONFIG: cp.kubeconfig },
  });
  t.is(
    (JSON.parse(env.stdout) as { workloads: unknown[] }).workloads.length,
    2,
    "KUBECONFIG is honoured",
  );
  const bad = await runCli(["egress", "list", "--kubeconfig", cp.kubeconfig, "--context", "nope"]);
  t.is(bad.code, 2);
  t.is(bad.stdout, "");
  t.regex(bad.stderr, /^error: context "nope" does not exist\n/);
});

test("suggest from the cluster writes intents the API server accepts", async (t) => {
  const r = await runCli([
    "egress",
    "suggest",
    "--kubeconfig",
    cp.kubeconfig,
    "-n",
    "dev",
    "joke-worker",
    "--now",
    NOW,
  ]);
  t.is(r.code, 0);
  const [doc] = loadAll(r.stdout) as Array<{ metadata: { name: string } }>;
  doc!.metadata.name = "suggested-joke-worker";
  await kubectl(
    cp.kubeconfig,
    ["apply", "--dry-run=server", "--validate=strict", "-f", "-"],
    JSON.stringify(doc),
  );
  const v1 = await runCli([
    "egress",
    "suggest",
    "--kubeconfig",
    cp.kubeconfig,
    "-n",
    "dev",
    "joke-worker",
    "--api-version",
    "v1alpha3",
    "--now",
    NOW,
  ]);
  await kubectl(
    cp.kubeconfig,
    ["apply", "--dry-run=server", "--validate=strict", "-f", "-"],
    v1.stdout,
  );
  t.pass();
});

test("kubectl runs the plugin as `kubectl otter`", async (t) => {
  const path = `${pluginPath()}:${process.env.PATH ?? ""}`;
  const r = await exec(
    KUBECTL,
    ["otter", "egress", "diff", "--kubeconfig", cp.kubeconfig, "-n", "dev", "--now", NOW],
    { PATH: path },
  );
  t.is(r.code, 1);
  t.regex(r.stdout, /missing +sts\.eu-west-2\.amazonaws\.com/);
  const help = await exec(KUBECTL, ["otter", "egress", "diff", "--help"], { PATH: path });
  t.regex(help.stdout, /kubectl otter egress diff \[--intents PATH\]/);
  const plugins = await exec(KUBECTL, ["plugin", "list"], { PATH: path });
  t.regex(plugins.stdout, /kubectl-otter/);
});

test("kubectl completes the plugin: commands, namespaces, workloads and intents files", async (t) => {
  const env = { PATH: `${pluginPath()}:${process.env.PATH ?? ""}`, KUBECONFIG: cp.kubeconfig };
  const complete = async (...words: string[]) =>
    (await exec(KUBECTL, ["__complete", "otter", ...words], env)).stdout;
  t.regex(await complete("egress", ""), /^diff\t.*\nsuggest\t.*\nlist\t.*\n:4\n$/);
  t.regex(await complete("egress", "diff", "--fail"), /^--fail-on\t/);
  const namespaces = (await complete("egress", "list", "-n", "")).split("\n");
  t.true(namespaces.includes("dev") && namespaces.includes("kube-system"), namespaces.join(","));
  t.is(await complete("egress", "list", "-n", "de"), "default\ndev\n:4\n");
  t.is(await complete("egress", "suggest", "-n", "dev", "joke-w"), "joke-worker\n:4\n");
  t.is(await complete("egress", "diff", "--intents", ""), "yaml\nyml\n:8\n");
});

test("a user who may read one namespace can run -n there and gets a clear forbidden for -A", async (t) => {
  const k = cp.kubeconfig;
  await kubectl(k, ["create", "serviceaccount", "reader", "-n", "dev"]);
  await kubectl(k, [
    "create",
    "role",
    "egress-reader",
    "-n",
    "dev",
    "--verb=get,list,watch",
    "--resource=clientintents.k8s.otterize.com,observedegresses.egress.otter.dev",
  ]);
  await kubectl(k, [
    "create",
    "rolebinding",
    "egress-reader",
    "-n",
    "dev",
    "--role=egress-reader",
    "--serviceaccount=dev:reader",
  ]);
  const token = (await kubectl(k, ["create", "token", "reader", "-n", "dev"])).trim();
  const reader = kubeconfigWithToken(k, token);
  const ok = await runCli([
    "egress",
    "diff",
    "--kubeconfig",
    reader,
    "-n",
    "dev",
    "--now",
    NOW,
    "-o",
    "json",
  ]);
  t.is(ok.stderr, "");
  t.is(ok.code, 1);
  const report = JSON.parse(ok.stdout) as Report;
  t.is(report.summary.missing, 1);
  t.is(report.summary.unnecessary, 0, "the Lease cannot be read, so silence proves nothing");
  t.true(report.workloads[1]?.findings.some((f) => /cannot be read \(forbidden\)/.test(f.reason)));
  const all = await runCli(["egress", "diff", "--kubeconfig", reader, "-A", "--now", NOW]);
  t.is(all.code, 2);
  t.is(all.stdout, "");
  t.regex(
    all.stderr,
    /^error: Forbidden: .*cannot list resource "clientintents" in API group "k8s\.otterize\.com" at the cluster scope/,
  );
  t.is(all.stderr.trim().split("\n").length, 1, "one line, no stack trace");
});

test("an unreachable cluster is a one-line error; a silent one ends at --request-timeout", async (t) => {
  const closed = await freePort();
  const refused = kubeconfigFor(`https://127.0.0.1:${closed}`);
  const r = await runCli(["egress", "diff", "--kubeconfig", refused, "-n", "dev"]);
  t.is(r.code, 2);
  t.is(r.stdout, "");
  t.regex(
    r.stderr,
    new RegExp(
      `^error: cannot reach the Kubernetes API at https://127\\.0\\.0\\.1:${closed}: .*ECONNREFUSED.*\\n$`,
    ),
  );

  const silent: Server = createServer(() => undefined); // accepts, never answers
  await new Promise<void>((done) => silent.listen(0, "127.0.0.1", done));
  const port = (silent.address() as { port: number }).port;
  try {
    const started = Date.now();
    const s = await runCli([
      "egress",
      "diff",
      "--kubeconfig",
      kubeconfigFor(`https://127.0.0.1:${port}`),
      "-n",
      "dev",
      "--request-timeout",
      "1s",
    ]);
    const took = Date.now() - started;
    t.is(s.code, 2);
    t.regex(
      s.stderr,
      /^error: the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ did not answer within 1s/,
    );
    t.true(took < 8000, `took ${took} ms`);
  } finally {
    silent.close();
  }
});

test("the API server refuses a malformed ObservedEgress, and status only moves through its subresource", async (t) => {
  // Its own namespace: the other tests count the workloads observed in dev.
  await ensureNamespace(cp.kubeconfig, "malformed");
  const bad = {
    apiVersion: "egress.otter.dev/v1alpha1",
    kind: "ObservedEgress",
    metadata: { name: "bad", namespace: "malformed" },
    spec: { workload: { name: "bad" } },
  };
  await kubectl(cp.kubeconfig, ["apply", "-f", "-"], JSON.stringify(bad));
  const patch = (status: unknown) =>
    exec(KUBECTL, [
      "--kubeconfig",
      cp.kubeconfig,
      "patch",
      "oe",
      "bad",
      "-n",
      "malformed",
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status }),
    ]);
  const noLastSeen = await patch({ destinations: [{ internet: { dnsName: "a.com" } }] });
  t.not(noLastSeen.code, 0);
  t.regex(noLastSeen.stderr, /lastSeen: Required value/);
  const both = await patch({
    destinations: [
      { internet: { dnsName: "a.com" }, kubernetes: { name: "x", namespace: "y" }, lastSeen: NOW },
    ],
  });
  t.regex(both.stderr, /exactly one of internet, kubernetes/);
  const badPort = await patch({
    destinations: [{ internet: { dnsName: "a.com", ports: [70000] }, lastSeen: NOW }],
  });
  t.regex(badPort.stderr, /should be less than or equal to 65535/);
  const noWorkload = await exec(
    KUBECTL,
    ["--kubeconfig", cp.kubeconfig, "apply", "-f", "-"],
    {},
    JSON.stringify({ ...bad, metadata: { name: "bad2", namespace: "malformed" }, spec: {} }),
  );
  t.regex(noWorkload.stderr, /workload: Required value/);
  // Status written with the object itself is dropped: only the subresource writes it.
  await kubectl(
    cp.kubeconfig,
    ["apply", "-f", "-"],
    JSON.stringify({
      ...bad,
      metadata: { name: "bad3", namespace: "malformed" },
      status: { destinations: [{ internet: { dnsName: "sneaky.com" }, lastSeen: NOW }] },
    }),
  );
  const stored = JSON.parse(
    await kubectl(cp.kubeconfig, ["get", "oe", "bad3", "-n", "malformed", "-o", "json"]),
  ) as { status?: unknown };
  t.is(stored.status, undefined);
  await kubectl(cp.kubeconfig, ["delete", "oe", "bad", "bad3", "-n", "malformed"]);
});

test("a ClientIntents the API server keeps but the plugin cannot read is named in one line, not taken for an unreachable cluster", async (t) => {
  // Otterize's CRD takes any string as an address; the plugin checks them.
  await ensureNamespace(cp.kubeconfig, "unreadable");
  await kubectl(
    cp.kubeconfig,
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "k8s.otterize.com/v2beta1",
      kind: "ClientIntents",
      metadata: { name: "svc-404", namespace: "unreadable" },
      spec: { workload: { name: "svc-404" }, targets: [{ internet: { ips: ["999.1.1.1"] } }] },
    }),
  );
  try {
    const r = await runCli(["egress", "diff", "--kubeconfig", cp.kubeconfig, "-n", "unreadable"]);
    t.is(r.code, 2, r.stderr);
    t.regex(
      r.stderr,
      /^error: ClientIntents unreadable\/svc-404: .*"999\.1\.1\.1" is not a valid IP/,
    );
    t.notRegex(r.stderr, /cannot reach/);
  } finally {
    await kubectl(cp.kubeconfig, ["delete", "clientintents", "svc-404", "-n", "unreadable"]);
  }
});

function kubeconfigFor(server: string): string {
  const base = kubeconfigWithToken(cp.kubeconfig, "x");
  const text = readFileSync(base, "utf8").replace(/server: .*/, `server: ${server}`);
  const file = `${base}.other`;
  writeFileSync(file, text);
  return file;
}
