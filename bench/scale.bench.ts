import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { load } from "js-yaml";
import { createInterface } from "node:readline";
import type { ControlPlane } from "../test/controlplane/controlplane.js";
import { KUBECTL, startCluster } from "../test/helpers/cluster.js";
import { pluginCommand } from "./plugin-command.js";
import { timedRun } from "./timed.js";
import { apiClient, must, type Api } from "./webhook-e2e.js";
import { NAMESPACES, workload } from "./scale-data.js";

/**
 * `npm run bench:scale`: the webhook's memory on a large cluster (run `npm run cluster:build`
 * once). A real API server is filled with BENCH_SCALE (default 10000,50000) workloads, each an
 * ObservedEgress of 30 destinations written by its status subresource as the collector writes
 * it, and a ClientIntents; at each size the webhook's caches list and watch them in a process
 * of their own, then list again as after an expired watch. Printed beside the goals: the live
 * heap per workload against the JSON the API server sends for that workload's objects, the
 * steady RSS, and the peak RSS during the list and during the relist against the steady RSS;
 * and the longest the event loop was held meanwhile (what a review arriving then waits).
 * The caches run under the chart's memory limit (a memory cgroup, removed after), as in the
 * pod. Then `kubectl otter egress diff -A` reads the same cluster, beside `kubectl get` of the
 * same objects (up to BENCH_KUBECTL_MAX workloads: kubectl holds the whole list decoded).
 */

const SIZES = (process.env.BENCH_SCALE ?? "10000,50000").split(",").map(Number);
const CONCURRENCY = 48;
/** The largest size kubectl get is run at (BENCH_KUBECTL_MAX). */
const KUBECTL_MAX = Number(process.env.BENCH_KUBECTL_MAX ?? 10_000);
const log = (l: string) => process.stderr.write(`bench:scale: ${l}\n`);
const MiB = (b: number) => `${(b / 1048576).toFixed(0)} MiB`;

async function populate(api: Api, from: number, to: number, now: number): Promise<void> {
  let next = from;
  const started = performance.now();
  const worker = async () => {
    for (let w = next++; w < to; w = next++) {
      const o = workload(w, now);
      const base = `/apis/egress.otter.dev/v1alpha1/namespaces/${o.ns}/observedegresses`;
      await must(api, "POST", base, {
        apiVersion: "egress.otter.dev/v1alpha1",
        kind: "ObservedEgress",
        metadata: { name: o.name, namespace: o.ns },
        spec: { workload: { name: o.name, kind: "Deployment" } },
      });
      await must(api, "PATCH", `${base}/${o.name}/status`, { status: o.status });
      await must(
        api,
        "POST",
        `/apis/k8s.otterize.com/v2beta1/namespaces/${o.ns}/clientintents`,
        o.intents,
      );
      if (w % 5000 === 4999)
        log(`${w + 1} workloads (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** Bytes of JSON the API server sends for a list of `path`, read in pages as the caches read it. */
async function listBytes(api: Api, path: string): Promise<number> {
  let bytes = 0;
  let token = "";
  do {
    const r = await api.call(
      "GET",
      `${path}?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ""}`,
    );
    if (r.code !== 200) throw new Error(`GET ${path}: ${r.code}`);
    bytes += Buffer.byteLength(r.text);
    token = (JSON.parse(r.text) as { metadata?: { continue?: string } }).metadata?.continue ?? "";
  } while (token);
  return bytes;
}

interface Figures {
  workloads?: number;
  /** The heap before the caches were filled (the first list's figures only). */
  base?: number;
  seconds: number;
  heap: number;
  rss: number;
  peak: number;
  /** The event loop's longest hold and its 99th percentile during the list (or relist), ms. */
  stallMs: { max: number; p99: number };
}

/** The event loop's longest hold and its 99th percentile: how long a review could wait. */
function stall(f: Figures): string {
  return `${f.stallMs.max.toFixed(0)} ms (${f.stallMs.p99.toFixed(0)} ms)`;
}

/** Wall time and peak RSS (bytes) of a command whose output goes to /dev/null. */
function timed(cmd: string[]): { seconds: number; peak: number } {
  const r = timedRun(cmd);
  return { seconds: r.seconds, peak: r.peakMb * 1048576 };
}

/** `kubectl otter egress diff -A -o json` of the cluster, as the benchmark runs it. */
function pluginDiff(cp: ControlPlane): string[] {
  return [...pluginCommand(), "egress", "diff", "-A", "-o", "json", "--kubeconfig", cp.kubeconfig];
}

/**
 * `kubectl otter egress diff -A` against the cluster beside what a user compares it with,
 * `kubectl get observedegresses,clientintents -A -o json`, alternated, the median of three.
 */
function pluginAgainstKubectl(cp: ControlPlane, withKubectl: boolean) {
  const runs = {
    kubectl: [] as { seconds: number; peak: number }[],
    plugin: [] as { seconds: number; peak: number }[],
  };
  for (let i = 0; i < 3; i++) {
    if (withKubectl)
      runs.kubectl.push(
        timed([
          KUBECTL,
          "--kubeconfig",
          cp.kubeconfig,
          "get",
          "observedegresses,clientintents",
          "-A",
          "-o",
          "json",
        ]),
      );
    runs.plugin.push(timed(pluginDiff(cp)));
  }
  const mid = (xs: { seconds: number; peak: number }[]) => {
    if (xs.length === 0) return undefined;
    const by = [...xs].sort((a, b) => a.seconds - b.seconds);
    return { seconds: by[1]?.seconds ?? 0, peak: Math.max(...xs.map((x) => x.peak)) };
  };
  return {
    kubectl: mid(runs.kubectl),
    plugin: mid(runs.plugin) as { seconds: number; peak: number },
  };
}

/** The caches in their own process: the first list's figures, then a relist's. */
async function measure(cp: ControlPlane): Promise<{ list: Figures; relist: Figures }> {
  // Under the chart's memory limit, as in its pod: the kernel enforces it, and Node sizes its
  // heap from it (1 GiB gives V8 a 560 MiB heap; 1.5 GiB, 864 MiB).
  const group = limitGroup();
  const node = `${JSON.stringify(process.execPath)} --expose-gc dist/bench/scale-webhook.js ${JSON.stringify(cp.kubeconfig)}`;
  const child = spawn(
    "sh",
    ["-c", group ? `echo $$ > ${group}/tasks && exec ${node}` : `exec ${node}`],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const exited = new Promise<NodeJS.Signals | null>((r) =>
    child.on("exit", (_, signal) => r(signal)),
  );
  try {
    return await figuresOf(child, exited);
  } finally {
    if (group) {
      await exited;
      rmdirSync(group);
    }
  }
}

/** The chart's memory limit for the webhook, in bytes (values.yaml, Mi or Gi). */
function chartLimit(): number {
  const values = load(readFileSync("charts/otter-egress/values.yaml", "utf8")) as {
    webhook: { resources: { limits: { memory: string } } };
  };
  const text = values.webhook.resources.limits.memory;
  const m = /^(\d+)(Mi|Gi)$/.exec(text);
  if (!m) throw new Error(`values.yaml: webhook memory limit ${text} is not Mi or Gi`);
  return Number(m[1]) * (m[2] === "Gi" ? 1 << 30 : 1 << 20);
}

/** A memory cgroup (v1) with the chart's limit, removed after; none where there is no v1 memory controller. */
function limitGroup(): string | undefined {
  const root = "/sys/fs/cgroup/memory";
  if (!existsSync(`${root}/tasks`)) return undefined;
  const group = `${root}/otter-bench-webhook-${process.pid}`;
  mkdirSync(group);
  writeFileSync(`${group}/memory.limit_in_bytes`, String(chartLimit()));
  return group;
}

async function figuresOf(
  child: ChildProcessByStdio<Writable, Readable, null>,
  exited: Promise<NodeJS.Signals | null>,
): Promise<{ list: Figures; relist: Figures }> {
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Figures> => {
    const r = await lines.next();
    if (r.done) {
      const signal = await exited;
      throw new Error(
        signal === "SIGKILL"
          ? `the caches were OOM-killed under the chart's memory limit (${MiB(chartLimit())})`
          : "the caches' process ended early",
      );
    }
    return JSON.parse(r.value as string) as Figures;
  };
  const list = await next();
  child.stdin.write("relist\n");
  const relist = await next();
  child.stdin.end();
  await exited;
  return { list, relist };
}

const cp = await startCluster();
const api = apiClient(cp.server, cp.token, CONCURRENCY);
try {
  for (let n = 0; n < NAMESPACES; n++) {
    await must(api, "POST", "/api/v1/namespaces", { metadata: { name: `team-${n}` } });
  }
  // What the plugin takes before it reads any object: Node and the Kubernetes client loaded,
  // the (empty) lists read. Printed beside the figures, as part of every peak below.
  const empty = timed(pluginDiff(cp));
  const now = Date.now();
  let have = 0;
  const rows: string[] = [];
  const verdicts: string[] = [];
  const pluginRows: string[] = [];
  for (const size of SIZES) {
    log(`writing workloads ${have}..${size}`);
    await populate(api, have, size, now);
    have = size;
    const json =
      (await listBytes(api, "/apis/egress.otter.dev/v1alpha1/observedegresses")) +
      (await listBytes(api, "/apis/k8s.otterize.com/v2beta1/clientintents"));
    log(`${size} workloads written; the caches list them`);
    const { list, relist } = await measure(cp);
    // kubectl holds a whole list decoded: 3.3 GB at 10,000 workloads, so ~16 GB at 50,000, more
    // than this machine can spare beside the API server. Larger sizes time the plugin alone.
    const cli = pluginAgainstKubectl(cp, size <= KUBECTL_MAX);
    const k = cli.kubectl;
    pluginRows.push(
      `| ${size.toLocaleString("en")} | ${MiB(json)} | ${k ? `${k.seconds.toFixed(1)} s, ${MiB(k.peak)}` : "not run (see above)"} | ${cli.plugin.seconds.toFixed(1)} s, ${MiB(cli.plugin.peak)} | ${k ? `${(cli.plugin.seconds / k.seconds).toFixed(2)}×` : "-"} (goal ≤ 1.5×) | ${(cli.plugin.peak / json).toFixed(2)}× (goal ≤ 2×) |`,
    );
    if (list.workloads !== size) throw new Error(`the caches hold ${list.workloads} of ${size}`);
    const perJson = json / size;
    // Per workload: what the caches add to the process's heap.
    const perHeap = (list.heap - (list.base ?? 0)) / size;
    rows.push(
      `| ${size.toLocaleString("en")} | ${(perJson / 1024).toFixed(1)} KiB | ${(perHeap / 1024).toFixed(1)} KiB | ${MiB(list.heap)} | ${MiB(list.rss)} | ${MiB(list.peak)} (${(list.peak / list.rss).toFixed(2)}×) | ${MiB(relist.peak)} (${(relist.peak / list.rss).toFixed(2)}×) | ${list.seconds.toFixed(1)} s / ${relist.seconds.toFixed(1)} s | ${stall(list)} / ${stall(relist)} |`,
    );
    const met = (ok: boolean) => (ok ? "met" : "not met");
    verdicts.push(
      `${size} workloads: heap per workload ≤ its JSON: ${met(perHeap <= perJson)} (${(perHeap / perJson).toFixed(2)}×); peak during list ≤ 1.5× steady: ${met(list.peak <= 1.5 * list.rss)}; during relist: ${met(relist.peak <= 1.5 * list.rss)}; peak within the chart's limit of ${MiB(chartLimit())}: ${met(Math.max(list.peak, relist.peak) <= chartLimit())}`,
    );
  }
  console.log(
    `bench:scale: the webhook's caches, filled from a real API server (list, then watch)`,
  );
  console.log(
    `| workloads | JSON per workload (ObservedEgress + ClientIntents) | live heap per workload (the caches' part) | live heap | steady RSS | peak RSS, list | peak RSS, relist | list / relist time | event loop held, list / relist: longest (p99) |`,
  );
  console.log(`|---|---|---|---|---|---|---|---|---|`);
  for (const r of rows) console.log(r);
  for (const v of verdicts) console.log(`goal, ${v}`);
  console.log(
    `\nthe plugin against the cluster: kubectl otter egress diff -A -o json beside kubectl get (median of 3, peak the highest)`,
  );
  console.log(
    `| workloads | JSON received | kubectl get observedegresses,clientintents -A -o json | kubectl otter egress diff -A | time vs kubectl | peak memory vs JSON |`,
  );
  console.log(`|---|---|---|---|---|---|`);
  for (const r of pluginRows) console.log(r);
  console.log(
    `the plugin on an empty cluster (Node and the Kubernetes client, no object read): ${MiB(empty.peak)} of every peak above`,
  );
} finally {
  api.close();
  await cp.stop();
}
