import { readFileSync, writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { Caches } from "../webhook/caches.js";
import { tuneHeapForReviews } from "../webhook/heap-tuning.js";
import { SharedConnectionsKubeConfig } from "../kube/kubeconfig.js";

/**
 * The webhook's caches for `npm run bench:scale`, in a process of their own:
 *   node --expose-gc dist/bench/scale-webhook.js KUBECONFIG
 * fills them from the API server as the webhook does (list, then watch), and prints one JSON
 * line of memory figures when they are ready; then, for each `relist` line on stdin, lists
 * again as after an expired watch and prints the figures of that relist.
 */

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** Peak resident set size since the last reset (VmHWM), in bytes. */
function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return Number(m?.[1] ?? 0) * 1024;
}

/** Starts the peak over from the current RSS (Linux: clear_refs 5). */
function resetPeak(): void {
  writeFileSync("/proc/self/clear_refs", "5");
}

/**
 * How long the event loop was held at a stretch (ms, the longest and the 99th percentile),
 * since the last reset: a review that arrives meanwhile waits that long for its answer.
 */
const stalls = monitorEventLoopDelay({ resolution: 10 });
stalls.enable();

/**
 * Starts the stalls over. The benchmark's own forced collections held the loop just before:
 * the monitor's timer, late because of them, fires first, so that they are not counted.
 */
async function resetStalls(): Promise<void> {
  await new Promise((r) => setTimeout(r, 50));
  stalls.reset();
}

async function figures(started: number): Promise<string> {
  const peak = peakRss();
  const stallMs = { max: stalls.max / 1e6, p99: stalls.percentile(99) / 1e6 };
  gc();
  gc();
  const heap = process.memoryUsage().heapUsed;
  // RSS once the collection has settled: what the pod holds between lists.
  await new Promise((r) => setTimeout(r, 2000));
  gc();
  return JSON.stringify({
    seconds: (performance.now() - started) / 1000,
    heap,
    rss: process.memoryUsage().rss,
    peak,
    stallMs,
  });
}

// As the webhook's entry point does, before its caches hold anything.
tuneHeapForReviews();
const kc = new SharedConnectionsKubeConfig();
kc.loadFromFile(process.argv[2] ?? "");
const caches = new Caches(kc, "otter-egress", () => undefined);
// The process's own heap, before the caches hold anything.
gc();
gc();
const base = process.memoryUsage().heapUsed;
await resetStalls();
const started = performance.now();
await caches.start();
await caches.waitReady(600_000);
const workloads = caches.store.observed.size;
process.stdout.write(
  `${JSON.stringify({ workloads, base, ...JSON.parse(await figures(started)) })}\n`,
);
for await (const line of createInterface({ input: process.stdin })) {
  if (line !== "relist") break;
  await resetStalls();
  resetPeak();
  const t = performance.now();
  await caches.relist();
  process.stdout.write(`${await figures(t)}\n`);
}
await caches.stop();
process.exit(0);
