import { KubeConfig } from "@kubernetes/client-node";
import { readFileSync, writeSync } from "node:fs";
import { Collector } from "../collector/collector.js";
import { createDnstapServer } from "../collector/dnstap-server.js";
import { podIp } from "./collector-data.js";

/**
 * The collector's ingest path for `npm run bench:collector`, run pinned to one core:
 *   node --expose-gc dist/bench/collector-server.js WORKLOADS SOCKET
 * The real Collector (its informers not started: the pods are filled in directly) behind the
 * real Frame Streams server. fd 3 carries "ready" and, on SIGUSR2, its counters and memory.
 */

const [workloadsText, socket, lateText] = process.argv.slice(2) as [string, string, string?];
const workloads = Number(workloadsText);
/** Workloads whose pods the index learns only on SIGUSR1 (their answers arrive first). */
const late = Number(lateText ?? 0);

const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: "bench", server: "https://127.0.0.1:1" }],
  users: [{ name: "bench" }],
  contexts: [{ name: "bench", cluster: "bench", user: "bench" }],
  currentContext: "bench",
});
const collector = new Collector({
  kc,
  clusterDomains: ["cluster.local"],
  namespace: "otter-egress",
  identity: "bench",
  flushIntervalMs: 3_600_000,
  log: () => undefined,
});

const podOf = (w: number) => {
  const namespace = `team-${w % 100}`;
  return {
    uid: `uid-${w}`,
    namespace,
    name: `svc-${w}-5d8f7-abcde`,
    ips: [podIp(w)],
    hostNetwork: false,
    dnsPolicy: "ClusterFirst",
    nameservers: [],
    labels: {},
    startMs: 0,
    workload: { namespace, name: `svc-${w}`, kind: "Deployment" },
    source: { namespace, name: `svc-${w}-5d8f7-abcde` },
    chain: [],
  };
};
for (let w = 0; w < workloads; w++) collector.pods.set(podOf(w));

// The late pods arrive, as the pod informer would deliver them: their held answers are
// attributed. fd 3 gets how many and how long it took.
process.on("SIGUSR1", () => {
  const m = collector.metrics;
  const before = m.value("otter_egress_collector_observations_total", 'source="dnstap"');
  const t0 = process.hrtime.bigint();
  for (let w = workloads; w < workloads + late; w++) collector.index(podOf(w));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const claimed = m.value("otter_egress_collector_observations_total", 'source="dnstap"') - before;
  writeSync(3, `${JSON.stringify({ claimed, ms })}\n`);
});

const server = createDnstapServer({
  onFrame: (buf, start, end) => collector.handleFrame(buf, start, end),
  onConnectionError: (e) => writeSync(2, `dnstap connection error: ${e.message}\n`),
});
server.server.listen(socket, () => writeSync(3, "ready\n"));

/**
 * The process's own peak RSS (VmHWM). getrusage's maxRSS would also count the memory of the
 * process it was forked from, before exec: the benchmark that spawns it holds the frames.
 */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

process.on("SIGUSR2", () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const m = collector.metrics;
  writeSync(
    3,
    `${JSON.stringify({
      frames: m.value("otter_egress_collector_frames_total"),
      observations: m.value("otter_egress_collector_observations_total", 'source="dnstap"'),
      unattributed: m.value("otter_egress_collector_unattributed_total", 'source="dnstap"'),
      decodeErrors:
        m.value("otter_egress_collector_decode_errors_total", 'stage="dnstap"') +
        m.value("otter_egress_collector_decode_errors_total", 'stage="dns"'),
      pairs: collector.state.destinationCount(),
      heapMb: process.memoryUsage().heapUsed / 1048576,
      rssMb: process.memoryUsage().rss / 1048576,
      maxRssMb: peakRssMb(),
    })}\n`,
  );
});
process.on("SIGTERM", () => process.exit(0));
