import { spawn, type ChildProcess } from "node:child_process";
import { Agent, request } from "node:https";
import { freePort, startCluster } from "../test/helpers/cluster.js";
import { percentile } from "./stats.js";

/**
 * The second half of `npm run bench:webhook`: ClientIntents created through the real API
 * server by concurrent clients, with the webhook registered and without it. Each client
 * creates its workload's ClientIntents (timed) and deletes it again, in a loop; phases
 * alternate without, with, without, with, so that drift of this machine shows as a spread.
 */

const NAMESPACE = "bench";
const DOMAINS = 10;

export interface PhaseResult {
  readonly webhook: boolean;
  /** Creates a second on a fixed schedule (open loop); absent: closed loop. */
  readonly rate?: number;
  readonly creates: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly failed: number;
  /** Reviews the webhook counted during the phase (a check that it was called at all). */
  readonly reviewed: number;
  /** The webhook's own time per review (body read to answer), from its /metrics. */
  readonly decisionMs?: number;
}

export interface Api {
  call(method: string, path: string, body?: unknown): Promise<{ code: number; text: string }>;
  close(): void;
}

export function apiClient(server: string, token: string, sockets: number): Api {
  const url = new URL(server);
  const agent = new Agent({ keepAlive: true, maxSockets: sockets, rejectUnauthorized: false });
  return {
    call(method, path, body) {
      const text = body === undefined ? undefined : JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path,
            method,
            agent,
            headers: {
              authorization: `Bearer ${token}`,
              accept: "application/json",
              ...(text === undefined
                ? {}
                : {
                    "content-type":
                      method === "PATCH" ? "application/merge-patch+json" : "application/json",
                    "content-length": Buffer.byteLength(text),
                  }),
            },
          },
          (res) => {
            let out = "";
            res.on("data", (d: Buffer) => (out += d.toString()));
            res.on("end", () => resolve({ code: res.statusCode ?? 0, text: out }));
          },
        );
        req.on("error", reject);
        req.end(text);
      });
    },
    close: () => agent.destroy(),
  };
}

export async function must(api: Api, method: string, path: string, body?: unknown): Promise<void> {
  const r = await api.call(method, path, body);
  if (r.code >= 300) throw new Error(`${method} ${path}: ${r.code} ${r.text.slice(0, 300)}`);
}

const domain = (w: number, d: number) => `api-${d}.vendor-${w}.example.com`;

/** Observations of workload `w`: DOMAINS names, seen an hour ago, all declared long since. */
async function observe(api: Api, w: number, now: number): Promise<void> {
  const name = `w-${w}`;
  const seen = new Date(now - 3_600_000).toISOString().replace(/\.\d+Z$/, "Z");
  const since = new Date(now - 30 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");
  const base = `/apis/egress.otter.dev/v1alpha1/namespaces/${NAMESPACE}/observedegresses`;
  await must(api, "POST", base, {
    apiVersion: "egress.otter.dev/v1alpha1",
    kind: "ObservedEgress",
    metadata: { name, namespace: NAMESPACE },
    spec: { workload: { name, kind: "Deployment" } },
  });
  await must(api, "PATCH", `${base}/${name}/status`, {
    status: {
      observingSince: since,
      updatedAt: seen,
      destinations: Array.from({ length: DOMAINS }, (_, d) => ({
        internet: { dnsName: domain(w, d), ips: [`10.1.${w % 250}.${d + 1}`], ports: [443] },
        firstSeen: since,
        lastSeen: seen,
      })),
      declared: Array.from({ length: DOMAINS }, (_, d) => ({
        target: { internet: { domains: [domain(w, d)] } },
        since,
      })),
    },
  });
}

/** ClientIntents of workload `w` that match what was observed: the webhook allows them. */
function intents(w: number): unknown {
  return {
    apiVersion: "k8s.otterize.com/v2beta1",
    kind: "ClientIntents",
    metadata: { name: `ci-${w}`, namespace: NAMESPACE },
    spec: {
      workload: { name: `w-${w}`, kind: "Deployment" },
      targets: Array.from({ length: DOMAINS }, (_, d) => ({
        internet: { domains: [domain(w, d)], ports: [443] },
      })),
    },
  };
}

/**
 * Closed loop: each client creates as soon as its last delete is done. With `rate`, open loop:
 * the clients' creates are due at `rate` per second in turn, and each is timed from when it was
 * due, so a slow answer also counts against the creates it delays.
 */
async function phase(
  api: Api,
  clients: number,
  perClient: number,
  webhook: boolean,
  rate?: number,
): Promise<PhaseResult> {
  const path = `/apis/k8s.otterize.com/v2beta1/namespaces/${NAMESPACE}/clientintents`;
  const latencies: number[] = [];
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, w) => {
      for (let i = 0; i < perClient; i++) {
        let t = performance.now();
        if (rate) {
          const due = started + ((i * clients + w) * 1000) / rate;
          if (due > t) await new Promise((r) => setTimeout(r, due - t));
          t = due;
        }
        const r = await api.call("POST", path, intents(w));
        if (r.code === 201) latencies.push(performance.now() - t);
        else failed++;
        await api.call("DELETE", `${path}/ci-${w}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    webhook,
    ...(rate ? { rate } : {}),
    creates: latencies.length,
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    failed,
    reviewed: 0,
  };
}

function startWebhook(kubeconfig: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      "dist/cmd/webhook.js",
      "--kubeconfig",
      kubeconfig,
      "--port",
      String(port),
      "--register-url",
      `https://127.0.0.1:${port}/validate`,
      "--failure-policy",
      "Fail",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      // Only the start is kept (denials and warnings would follow; these reviews pass).
      if (out.length < 1 << 16) out += d.toString();
      if (out.includes('"msg":"registered"')) resolve(child);
    });
    child.on("exit", (code) => reject(new Error(`webhook exited ${code}: ${out}`)));
  });
}

/** Seconds spent in reviews so far, and how many, from the webhook's latency histogram. */
function decisionTotals(port: number): Promise<{ sum: number; count: number }> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path: "/metrics", rejectUnauthorized: false }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => {
        const value = (name: string) =>
          Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
        resolve({
          sum: value("otter_egress_admission_duration_seconds_sum"),
          count: value("otter_egress_admission_duration_seconds_count"),
        });
      });
    })
      .on("error", reject)
      .end();
  });
}

export async function endToEnd(
  clients: number,
  perClient: number,
  openRate: number,
): Promise<PhaseResult[]> {
  const cp = await startCluster();
  const api = apiClient(cp.server, cp.token, clients * 2);
  try {
    await must(api, "POST", "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: NAMESPACE, labels: { "egress.otter.dev/gate": "enforce" } },
    });
    const now = Date.now();
    for (let w = 0; w < clients; w++) await observe(api, w, now);
    const results: PhaseResult[] = [];
    for (const webhook of [false, true, false, true]) {
      let child: ChildProcess | undefined;
      const port = await freePort();
      if (webhook) {
        child = await startWebhook(cp.kubeconfig, port);
        // The API server picks a new configuration up within a second.
        await new Promise((r) => setTimeout(r, 2000));
      }
      await phase(api, clients, 2, webhook); // warm-up
      for (const rate of [undefined, openRate]) {
        const before = webhook ? await decisionTotals(port) : undefined;
        const result = await phase(api, clients, rate ? 5 : perClient, webhook, rate);
        if (before) {
          const after = await decisionTotals(port);
          const reviewed = after.count - before.count;
          const decisionMs = ((after.sum - before.sum) / reviewed) * 1000;
          results.push({ ...result, reviewed, decisionMs });
        } else {
          results.push(result);
        }
      }
      if (child) {
        await must(
          api,
          "DELETE",
          "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/otter-egress",
        );
        await new Promise((r) => setTimeout(r, 2000));
        child.kill("SIGTERM");
        await new Promise((r) => child?.once("exit", r));
      }
    }
    return results;
  } finally {
    api.close();
    await cp.stop();
  }
}
