import { connect, createServer, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import type { ControlPlane } from "../test/controlplane/controlplane.js";
import { startCluster } from "../test/helpers/cluster.js";
import { startProcess, stopProcess, type Started } from "../test/helpers/processes.js";
import { CONTROL, DNSTAP_CONTENT_TYPE, encodeControl } from "../src/collector/frame-streams.js";
import { dnstapEncoder } from "./collector-data.js";
import { dnstapProto } from "../test/helpers/dnstap-proto.js";
import { apiClient, must, type Api } from "./webhook-e2e.js";

/**
 * `npm run bench:collector-writes` (run `npm run cluster:build` once): what the collector asks
 * of a real API server on a cluster of BENCH_COLLECTOR_WORKLOADS (10,000) workloads, one pod
 * each, every pod looking up the same NAMES names every LOOKUP_EVERY_S seconds (real dnstap
 * frames over TCP from the cluster DNS pod's address). A first collector, unthrottled, writes every
 * workload's ObservedEgress; then one at the chart's defaults is measured from its start:
 *   1. its restart on a cluster where everything is already stored;
 *   2. steady egress once everything is known: requests a minute (the goal: no writes beyond
 *      the lastSeen granularity's rate);
 *   3. a burst of new destinations (BURST workloads each look up a new name at once): the
 *      API server's request rate from the collector, against its rate limit.
 * The API server's own counters (apiserver_request_total) are read every second.
 */

const WORKLOADS = Number(process.env.BENCH_COLLECTOR_WORKLOADS ?? 10_000);
const NAMES = 3;
const LOOKUP_EVERY_S = 5;
const STEADY_S = Number(process.env.BENCH_STEADY_SECONDS ?? 120);
const BURST = Math.min(WORKLOADS, Number(process.env.BENCH_BURST_WORKLOADS ?? 2000));
const NAMESPACES = 50;
const CONCURRENCY = 48;
/** The chart's defaults (values.yaml), which the measured collector runs with. */
const QPS = 50;
const QPS_BURST = 100;
const GRANULARITY_S = 3600;

const log = (l: string) => process.stderr.write(`bench:collector-writes: ${l}\n`);
const ip = (w: number) => [10, 64 + (w >> 16), (w >> 8) & 255, w & 255];
const ns = (w: number) => `load-${w % NAMESPACES}`;
const host = (w: number, k: number) => `api-${k}.vendor-${w % 97}.example.com`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function pods(api: Api): Promise<void> {
  const started = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, "Z");
  let next = 0;
  const worker = async () => {
    for (let w = next++; w < WORKLOADS; w = next++) {
      const name = `svc-${w}-0`;
      await must(api, "POST", `/api/v1/namespaces/${ns(w)}/pods`, {
        metadata: {
          name,
          annotations: { "intents.otterize.com/workload-name": `svc-${w}` },
        },
        spec: { containers: [{ name: "app", image: "registry.example/app:1" }] },
      });
      const at = ip(w).join(".");
      await must(api, "PATCH", `/api/v1/namespaces/${ns(w)}/pods/${name}/status`, {
        status: { phase: "Running", podIP: at, podIPs: [{ ip: at }], startTime: started },
      });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/**
 * A Frame Streams writer: one session to the collector, frames as they come, from 127.0.0.1,
 * the address of the cluster DNS pod (so the collector hears every DNS server it knows).
 */
async function dnstapWriter(port: number) {
  const socket: Socket = connect(port, "127.0.0.1");
  await new Promise<void>((ok, fail) => {
    socket.once("error", fail);
    socket.once("data", () => ok());
    socket.write(encodeControl(CONTROL.READY, [DNSTAP_CONTENT_TYPE]));
  });
  socket.write(encodeControl(CONTROL.START, [DNSTAP_CONTENT_TYPE]));
  return {
    send: (b: Buffer) =>
      new Promise<void>((r) => (socket.write(b) ? r() : socket.once("drain", () => r()))),
    close: () => socket.end(encodeControl(CONTROL.STOP)),
  };
}

type Counts = Map<string, number>;

/** apiserver_request_total summed by "VERB resource[/subresource]", for the collector's kinds. */
async function apiCounts(api: Api): Promise<Counts> {
  const r = await api.call("GET", "/metrics");
  const out: Counts = new Map();
  for (const line of r.text.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const label = (n: string) => new RegExp(`[{,]${n}="([^"]*)"`).exec(line)?.[1] ?? "";
    const resource = label("resource");
    if (!["observedegresses", "leases", "clientintents"].includes(resource)) continue;
    const sub = label("subresource");
    const key = `${label("verb")} ${resource}${sub ? `/${sub}` : ""}`;
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return out;
}

const total = (c: Counts, f: (k: string) => boolean = () => true) =>
  [...c].filter(([k]) => f(k)).reduce((s, [, v]) => s + v, 0);
const minus = (a: Counts, b: Counts): Counts =>
  new Map([...a].map(([k, v]) => [k, v - (b.get(k) ?? 0)] as const).filter(([, v]) => v > 0));
const isWrite = (k: string) => /^(POST|PUT|PATCH|DELETE) observedegresses/.test(k);
const show = (c: Counts) =>
  [...c]
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(", ") || "none";

/** The collector's own counter, from its /metrics. */
async function collectorMetric(port: number, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

/** What the collector's limiter governs: its reads and writes of ObservedEgress. */
const isLimited = (k: string) => k.includes(" observedegresses");

interface Rate {
  requests: number;
  seconds: number;
  /** The most requests in any one sample (about a second) of the phase. */
  peak: number;
  /** The most limited requests in one sample, and what the limiter allows in that sample. */
  peakLimited: number;
  allowedThen: number;
  /** Whether some sample held more limited requests than the limiter allows in its length. */
  over: boolean;
  counts: Counts;
}

/**
 * Samples the API server's counters every second while `during` runs. A sample lasts about a
 * second (reading the counters takes time): in `t` seconds the limiter allows its burst plus
 * `t` × its rate, and that is what each sample's limited requests are held to. Leader
 * election's leases and the ClientIntents watch are outside the limiter (a lease renewal is
 * never queued behind a burst of writes): they are counted, not bounded.
 */
async function sampled(api: Api, during: () => Promise<void>): Promise<Rate> {
  const first = await apiCounts(api);
  let last = first;
  let lastAt = performance.now();
  let peak = 0;
  let peakLimited = 0;
  let allowedThen = QPS_BURST + QPS;
  let over = false;
  let done = false;
  const t0 = performance.now();
  const sampler = (async () => {
    for (let at = performance.now(); !done;) {
      at += 1000;
      await sleep(Math.max(0, at - performance.now()));
      const now = await apiCounts(api);
      const nowAt = performance.now();
      const step = minus(now, last);
      const limited = total(step, isLimited);
      const allowed = Math.floor(QPS_BURST + (QPS * (nowAt - lastAt)) / 1000);
      peak = Math.max(peak, total(step));
      if (limited > peakLimited) [peakLimited, allowedThen] = [limited, allowed];
      over ||= limited > allowed;
      last = now;
      lastAt = nowAt;
    }
  })();
  await during();
  done = true;
  await sampler;
  const counts = minus(await apiCounts(api), first);
  return {
    requests: total(counts),
    seconds: (performance.now() - t0) / 1000,
    peak,
    peakLimited,
    allowedThen,
    over,
    counts,
  };
}

const cp: ControlPlane = await startCluster();
const api = apiClient(cp.server, cp.token, CONCURRENCY);
const encode = await dnstapEncoder(dnstapProto());
const collectors: Started[] = [];
try {
  for (const n of ["otter-egress", ...Array.from({ length: NAMESPACES }, (_, i) => `load-${i}`)]) {
    await must(api, "POST", "/api/v1/namespaces", { metadata: { name: n } });
    // No controller manager here: the pods' service account is made by hand.
    await must(api, "POST", `/api/v1/namespaces/${n}/serviceaccounts`, {
      metadata: { name: "default" },
    });
  }
  // The cluster DNS, as in collector.test.ts: its pod is at the address this process dials
  // the collector from.
  await must(api, "POST", "/api/v1/namespaces/kube-system/serviceaccounts", {
    metadata: { name: "default" },
  });
  await must(api, "POST", "/api/v1/namespaces/kube-system/services", {
    metadata: { name: "kube-dns" },
    spec: {
      selector: { "k8s-app": "kube-dns" },
      ports: [{ name: "dns", port: 53, protocol: "UDP" }],
    },
  });
  await must(api, "POST", "/api/v1/namespaces/kube-system/pods", {
    metadata: { name: "coredns-0", labels: { "k8s-app": "kube-dns" } },
    spec: {
      dnsPolicy: "Default",
      containers: [{ name: "coredns", image: "registry.example/coredns:1" }],
    },
  });
  await must(api, "PATCH", "/api/v1/namespaces/kube-system/pods/coredns-0/status", {
    status: {
      phase: "Running",
      podIP: "127.0.0.1",
      podIPs: [{ ip: "127.0.0.1" }],
      startTime: new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, "Z"),
    },
  });
  log(`creating ${WORKLOADS} running pods`);
  await pods(api);

  const start = async (identity: string, extra: string[]) => {
    const http = await freePort();
    const dnstap = await freePort();
    const p = await startProcess(
      process.execPath,
      [
        "dist/cmd/collector.js",
        "--kubeconfig",
        cp.kubeconfig,
        "--dnstap-listen",
        `127.0.0.1:${dnstap}`,
        "--listen",
        `127.0.0.1:${http}`,
        "--identity",
        identity,
        ...extra,
      ],
      /"msg":"informers synced"/,
      `collector ${identity}`,
      300_000,
    );
    collectors.push(p);
    return { http, writer: await dnstapWriter(dnstap), process: p };
  };
  /** Every workload looks up its names (and, with `extra`, one name of its own) once. */
  const round = async (send: (b: Buffer) => Promise<void>, extra = 0) => {
    const now = Date.now();
    const parts: Buffer[] = [];
    for (let w = 0; w < WORKLOADS; w++) {
      const client = Buffer.from(ip(w));
      for (let k = 0; k < NAMES; k++) parts.push(...encode(client, host(w, k), w * NAMES + k, now));
      if (w < extra) parts.push(...encode(client, `new-${w}.example.org`, w, now));
    }
    await send(Buffer.concat(parts));
  };
  /** The collector's writes so far: written, and found unchanged. */
  const written = async (port: number): Promise<[number, number]> => {
    const of = (r: string) =>
      collectorMetric(port, "otter_egress_collector_writes_total", `result="${r}"`);
    return [await of("written"), await of("unchanged")];
  };

  // Everything stored, as by a collector that has run for a while (not measured).
  log("a first collector, unthrottled, writes every workload");
  const fill = await start("fill", ["--api-qps", "2000", "--api-burst", "2000"]);
  await round(fill.writer.send);
  for (;;) {
    const [w] = await written(fill.http);
    if (w >= WORKLOADS) break;
    await sleep(1000);
  }
  fill.writer.close();
  await stopProcess(fill.process);

  log("the measured collector, at the chart's defaults");
  const c = await start("measured", []);
  let extra = 0;
  let looking = true;
  const lookups = (async () => {
    for (let at = performance.now(); looking;) {
      await round(c.writer.send, extra);
      at += LOOKUP_EVERY_S * 1000;
      await sleep(Math.max(0, at - performance.now()));
    }
  })();
  const settled = async (expect: number) => {
    for (;;) {
      const [w, u] = await written(c.http);
      if (w + u >= expect) return;
      await sleep(500);
    }
  };
  const restart = await sampled(api, () => settled(WORKLOADS));
  log(`restart: ${show(restart.counts)}`);
  const steady = await sampled(api, async () => {
    await sleep(STEADY_S * 1000);
  });
  log(`steady: ${show(steady.counts)}`);
  const [w0, u0] = await written(c.http);
  extra = BURST;
  const burst = await sampled(api, () => settled(w0 + u0 + BURST));
  log(`burst: ${show(burst.counts)}`);
  looking = false;
  await lookups;
  c.writer.close();
  const status = readFileSync(`/proc/${c.process.child.pid}/status`, "utf8");
  const rssMb = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  const memory = `the collector's RSS ${rssMb("VmRSS").toFixed(0)} MiB, peak ${rssMb("VmHWM").toFixed(0)} MiB`;

  const perMin = (r: Rate, f?: (k: string) => boolean) =>
    ((total(r.counts, f) / r.seconds) * 60).toFixed(1);
  const met = (ok: boolean) => (ok ? "met" : "not met");
  console.log(
    `bench:collector-writes: ${WORKLOADS.toLocaleString("en")} workloads, each looking up ${NAMES} names every ${LOOKUP_EVERY_S} s; the collector at the chart's defaults (--api-qps ${QPS}, --api-burst ${QPS_BURST}, --last-seen-granularity 1h, --flush-interval 10s), the API server's counters read every second`,
  );
  console.log(
    `| phase | requests to the API server | time | mean rate | busiest second (of them, ObservedEgress; the limiter's bound then) |`,
  );
  console.log(`|---|---|---|---|---|`);
  for (const [what, r] of [
    [`restart, everything already stored`, restart],
    [`steady egress, everything known`, steady],
    [`burst: ${BURST.toLocaleString("en")} workloads each look up a new name`, burst],
  ] as const) {
    console.log(
      `| ${what} | ${show(r.counts)} | ${r.seconds.toFixed(0)} s | ${(r.requests / r.seconds).toFixed(1)}/s | ${r.peak} (${r.peakLimited}; ${r.allowedThen}) |`,
    );
  }
  console.log(memory);
  const allowed = (WORKLOADS * 2 * 60) / GRANULARITY_S;
  console.log(
    `goal, steady writes a minute ≤ the granularity's rate (${WORKLOADS} workloads × 2 requests per ${GRANULARITY_S / 60} min = ${allowed.toFixed(0)}/min): ${met((total(steady.counts, isWrite) / steady.seconds) * 60 <= allowed)} (ObservedEgress writes ${perMin(steady, isWrite)}/min; all requests ${perMin(steady)}/min)`,
  );
  const limitedRate = (r: Rate) => total(r.counts, isLimited) / r.seconds;
  const bound = (r: Rate) => met(limitedRate(r) <= QPS * 1.05 && !r.over);
  const figures = (r: Rate) =>
    `ObservedEgress ${limitedRate(r).toFixed(1)}/s, busiest second ${r.peakLimited} of ${r.allowedThen} allowed`;
  console.log(
    `goal, the burst within the rate limit (ObservedEgress requests: mean ≤ ${QPS}/s, and no more in a second than the burst of ${QPS_BURST} and ${QPS}/s allow): ${bound(burst)} (${figures(burst)}); the restart: ${bound(restart)} (${figures(restart)})`,
  );
} finally {
  for (const p of collectors) await stopProcess(p);
  api.close();
  await cp.stop();
}
