import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import test from "ava";
import { dump } from "js-yaml";
import { CollectorMetrics } from "../../collector/metrics.js";
import { Publisher } from "../../collector/publisher.js";
import { EgressState } from "../../src/collector/egress-state.js";
import type { ControlPlane } from "../controlplane/controlplane.js";
import { defaultBinDir } from "../controlplane/controlplane.js";
import {
  ensureNamespace,
  exec,
  freePort,
  KUBECTL,
  kubectl,
  pluginPath,
  startCluster,
} from "../helpers/cluster.js";
import { eventually, startProcess, stopProcess, type Started } from "../helpers/processes.js";

/**
 * The collector end to end: a real CoreDNS answers dig and streams dnstap to it; it names the
 * asking pod's workload from the real API server and writes ObservedEgress there, which the
 * plugin then reads.
 */

let cp: ControlPlane;
let coredns: Started | undefined;
let dnsPort: number;
const collectors: Started[] = [];
const NS = "shop";
const dir = mkdtempSync(join(tmpdir(), "otter-collector-"));
type Obj = Record<string, unknown>;

interface Ports {
  dnstap: number;
  http: number;
  sniffer: number;
}
let main: Ports;
/** The second replica, once the restart test has started it. */
let replicaB: Ports | undefined;

async function startCollector(ports: Ports, identity: string): Promise<Started> {
  const p = await startProcess(
    process.execPath,
    [
      "dist/cmd/collector.js",
      "--kubeconfig",
      cp.kubeconfig,
      "--dnstap-listen",
      `127.0.0.1:${ports.dnstap}`,
      "--listen",
      `127.0.0.1:${ports.http}`,
      "--sniffer-listen",
      `127.0.0.1:${ports.sniffer}`,
      "--flush-interval",
      "500ms",
      "--coverage-interval",
      "500ms",
      "--lease-interval",
      "1s",
      "--gc-interval",
      "1s",
      "--identity",
      identity,
      "--dnstap-socket",
      join(dir, `${identity}.sock`),
    ],
    /"msg":"informers synced"/,
    `collector ${identity}`,
  );
  collectors.push(p);
  return p;
}

async function startCoreDns(dnstapPort: number): Promise<Started> {
  writeFileSync(
    join(dir, "hosts"),
    [
      "93.184.216.34 api.example.com",
      "2001:db8::34 api.example.com",
      "198.51.100.7 files.example.org",
      `${await clusterIp("redis")} redis.${NS}.svc.cluster.local`,
      `10.96.99.99 gone.${NS}.svc.cluster.local`,
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(dir, "Corefile"),
    `.:${dnsPort} {
  bind 127.0.0.1
  hosts ${join(dir, "hosts")} {
    reload 200ms
  }
  dnstap tcp://127.0.0.1:${dnstapPort} full
}
`,
  );
  return startProcess(
    join(defaultBinDir(), "coredns"),
    ["-conf", join(dir, "Corefile")],
    /CoreDNS-\d/,
    "coredns",
  );
}

async function clusterIp(service: string): Promise<string> {
  return kubectl(cp.kubeconfig, [
    "get",
    "service",
    service,
    "-n",
    NS,
    "-o",
    "jsonpath={.spec.clusterIP}",
  ]);
}

/** Creates an object and returns its uid. */
async function create(o: Obj): Promise<string> {
  const out = await kubectl(
    cp.kubeconfig,
    ["create", "-o", "jsonpath={.metadata.uid}", "-f", "-"],
    dump(o),
  );
  return out.trim();
}

/** A running pod as the kubelet would report it: its IP and start time in status. */
async function runningPod(
  name: string,
  ip: string,
  meta: Obj,
  namespace = NS,
  spec: Obj = {},
): Promise<void> {
  await create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, ...meta },
    spec: { containers: [{ name: "app", image: "registry.example/app:1" }], ...spec },
  });
  await kubectl(cp.kubeconfig, [
    "patch",
    "pod",
    name,
    "-n",
    namespace,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({
      status: {
        phase: "Running",
        podIP: ip,
        podIPs: [{ ip }],
        startTime: new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, "Z"),
      },
    }),
  ]);
}

const dig = (from: string, name: string, type = "A") =>
  exec("dig", ["-b", from, "@127.0.0.1", "-p", String(dnsPort), "+short", "+tries=1", type, name]);

async function observed(name: string): Promise<Obj | undefined> {
  const r = await exec(KUBECTL, [
    "--kubeconfig",
    cp.kubeconfig,
    "get",
    "oe",
    name,
    "-n",
    NS,
    "-o",
    "json",
  ]);
  return r.code === 0 ? (JSON.parse(r.stdout) as Obj) : undefined;
}

type Destination = {
  internet?: { dnsName?: string; ips?: string[]; ports?: number[] };
  kubernetes?: Obj;
  firstSeen: string;
  lastSeen: string;
};
const destinations = (o: Obj | undefined): Destination[] =>
  ((o?.status as Obj | undefined)?.destinations as Destination[] | undefined) ?? [];
const named = (o: Obj | undefined, dnsName: string) =>
  destinations(o).find((d) => d.internet?.dnsName === dnsName);

function post(port: number, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "POST" }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve(text));
    })
      .on("error", reject)
      .end();
  });
}

/** A sniffer report, as Otterize's sniffer sends it to the network-mapper. */
function snifferReport(field: string, srcIp: string, destinations: Obj[]): string {
  const type = field === "reportCaptureResults" ? "CaptureResults" : "CaptureTCPResults";
  return JSON.stringify({
    operationName: field,
    query: `mutation ${field}($results: ${type}!) {\n    ${field}(results: $results)\n}`,
    variables: { results: { results: [{ srcIp, srcHostname: "", destinations }] } },
  });
}

/** ClientIntents v2beta1 for a workload of NS. */
const intentsFor = (name: string, kind: string, targets: Obj[]): Obj => ({
  apiVersion: "k8s.otterize.com/v2beta1",
  kind: "ClientIntents",
  metadata: { name, namespace: NS },
  spec: { workload: { name, kind }, targets },
});

/** The shared Lease's holder and renew time. */
async function sharedLease(): Promise<{ holder: string; renewTime: number }> {
  const lease = JSON.parse(
    await kubectl(cp.kubeconfig, [
      "get",
      "lease",
      "otter-egress-collector",
      "-n",
      "otter-egress",
      "-o",
      "json",
    ]),
  ) as { spec: { holderIdentity: string; renewTime: string } };
  return { holder: lease.spec.holderIdentity, renewTime: Date.parse(lease.spec.renewTime) };
}

const leaseRenewTime = async () => (await sharedLease()).renewTime;

/** kubectl otter egress diff against the cluster, as a user runs it through kubectl. */
const pluginDiff = (args: string[]) =>
  exec(KUBECTL, ["otter", "egress", "diff", "--kubeconfig", cp.kubeconfig, "-n", NS, ...args], {
    PATH: `${pluginPath()}:${process.env.PATH ?? ""}`,
  });

test.before(async () => {
  cp = await startCluster();
  const k = cp.kubeconfig;
  await ensureNamespace(k, NS);
  await ensureNamespace(k, "otter-egress");
  await kubectl(k, ["create", "serviceaccount", "default", "-n", NS]);
  await kubectl(k, ["create", "serviceaccount", "default", "-n", "kube-system"]);
  const deployment = await create({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: NS },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "app", image: "registry.example/web:1" }] },
      },
    },
  });
  const rs = await create({
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: "web-5d8f7",
      namespace: NS,
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "Deployment",
          name: "web",
          uid: deployment,
          controller: true,
        },
      ],
    },
    spec: {
      selector: { matchLabels: { app: "web", "pod-template-hash": "5d8f7" } },
      template: {
        metadata: { labels: { app: "web", "pod-template-hash": "5d8f7" } },
        spec: { containers: [{ name: "app", image: "registry.example/web:1" }] },
      },
    },
  });
  const owner = (kind: string, name: string, uid: string) => ({
    ownerReferences: [{ apiVersion: "apps/v1", kind, name, uid, controller: true }],
  });
  await runningPod("web-5d8f7-abcde", "127.0.0.5", {
    labels: { app: "web", "pod-template-hash": "5d8f7" },
    ...owner("ReplicaSet", "web-5d8f7", rs),
  });
  await runningPod("redis-0", "127.0.0.6", {
    labels: { app: "redis" },
    ...owner("StatefulSet", "redis", "00000000-0000-0000-0000-000000000001"),
  });
  await create({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "redis", namespace: NS },
    spec: { selector: { app: "redis" }, ports: [{ port: 6379 }] },
  });
  // The cluster DNS: the test's CoreDNS is its pod, at the address it dials the collector from.
  await create({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "kube-dns", namespace: "kube-system" },
    spec: {
      selector: { "k8s-app": "kube-dns" },
      ports: [{ name: "dns", port: 53, protocol: "UDP" }],
    },
  });
  await runningPod(
    "coredns-test",
    "127.0.0.1",
    { labels: { "k8s-app": "kube-dns" } },
    "kube-system",
    {
      dnsPolicy: "Default",
    },
  );
  main = { dnstap: await freePort(), http: await freePort(), sniffer: await freePort() };
  dnsPort = await freePort();
  await startCollector(main, "collector-a");
  coredns = await startCoreDns(main.dnstap);
});

test.after.always(async () => {
  await stopProcess(coredns);
  for (const c of collectors) await stopProcess(c, "SIGKILL");
  await cp?.stop();
});

test.serial(
  "dig from a pod's IP makes the collector write ObservedEgress for its Deployment",
  async (t) => {
    const answer = await dig("127.0.0.5", "api.example.com");
    t.is(answer.stdout.trim(), "93.184.216.34");
    await dig("127.0.0.5", "api.example.com", "AAAA");
    const oe = await eventually("api.example.com in ObservedEgress web", async () => {
      const o = await observed("web");
      const d = named(o, "api.example.com");
      return d?.internet?.ips?.length === 2 ? o : undefined;
    });
    t.deepEqual((oe.spec as Obj).workload, { name: "web", kind: "Deployment" });
    t.deepEqual(named(oe, "api.example.com")?.internet?.ips?.sort(), [
      "2001:db8::34",
      "93.184.216.34",
    ]);
    const status = oe.status as Obj;
    t.truthy(status.observingSince, "observingSince is recorded");
    t.truthy(status.updatedAt);
  },
);

test.serial(
  "CoreDNS 1.12 on a dual-stack listener sends an IPv4 client as ::ffff:a.b.c.d: still its pod",
  async (t) => {
    const conf = join(dir, "Corefile-1.12");
    writeFileSync(
      conf,
      `.:5353 {
  hosts {
    192.0.2.77 mapped.example.com
  }
  dnstap unix://${join(dir, "collector-a.sock")} full
}
`,
    );
    // No bind: the wildcard dual-stack listener, as in a cluster's Corefile, in a network
    // namespace of its own (it listens on nothing but that namespace's loopback).
    const old = await startProcess(
      "unshare",
      [
        "--net",
        "sh",
        "-c",
        'ip link set lo up && exec "$0" -conf "$1"',
        join(defaultBinDir(), "coredns-1.12"),
        conf,
      ],
      /CoreDNS-1\.12/,
      "coredns 1.12",
    );
    t.teardown(() => stopProcess(old));
    const netns = `--net=/proc/${String(old.child.pid)}/ns/net`;
    const answer = await exec("nsenter", [
      netns,
      "dig",
      "-b",
      "127.0.0.5",
      "@127.0.0.1",
      "-p",
      "5353",
      "+short",
      "+tries=1",
      "mapped.example.com",
    ]);
    t.is(answer.stdout.trim(), "192.0.2.77", answer.stderr);
    const oe = await eventually("mapped.example.com in ObservedEgress web", async () => {
      const o = await observed("web");
      return named(o, "mapped.example.com") ? o : undefined;
    });
    t.deepEqual(named(oe, "mapped.example.com")?.internet?.ips, ["192.0.2.77"]);
  },
);

test.serial(
  "an answer that arrives before its pod is known is held, and attributed once the pod appears",
  async (t) => {
    // A pod that resolves at start-up: its lookup reaches the collector before its IP does.
    const answer = await dig("127.0.0.9", "api.example.com");
    t.is(answer.stdout.trim(), "93.184.216.34");
    await new Promise((r) => setTimeout(r, 1000));
    await runningPod("early-bird", "127.0.0.9", {
      annotations: { "intents.otterize.com/workload-name": "early-bird" },
    });
    const oe = await eventually("early-bird's ObservedEgress", async () => {
      const o = await observed("early-bird");
      return named(o, "api.example.com") ? o : undefined;
    });
    t.truthy(named(oe, "api.example.com"));
  },
);

test.serial(
  "a Job that arrives after its pod is still the CronJob's, and an Argo Rollout's ReplicaSet is the Rollout's",
  async (t) => {
    const ref = (apiVersion: string, kind: string, name: string, uid: string) => ({
      ownerReferences: [{ apiVersion, kind, name, uid, controller: true }],
    });
    const template = {
      metadata: { labels: { app: "x" } },
      spec: {
        restartPolicy: "Never",
        containers: [{ name: "app", image: "registry.example/x:1" }],
      },
    };
    // The CronJob's pod resolves at start-up, before the Job reaches the collector.
    await runningPod(
      "report-29400000-abcde",
      "127.0.0.11",
      ref("batch/v1", "Job", "report-29400000", "00000000-0000-0000-0000-0000000000a1"),
    );
    await dig("127.0.0.11", "api.example.com");
    await new Promise((r) => setTimeout(r, 1500));
    const cron = await create({
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "report", namespace: NS },
      spec: { schedule: "0 * * * *", jobTemplate: { spec: { template } } },
    });
    await create({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: "report-29400000",
        namespace: NS,
        ...ref("batch/v1", "CronJob", "report", cron),
      },
      spec: { template },
    });
    // An Argo Rollout's ReplicaSet (the Rollout itself need not be readable).
    await create({
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: "api-6d4f8b7c9",
        namespace: NS,
        ...ref("argoproj.io/v1alpha1", "Rollout", "api", "00000000-0000-0000-0000-0000000000a2"),
      },
      spec: {
        selector: { matchLabels: { app: "api" } },
        template: {
          metadata: { labels: { app: "api" } },
          spec: { containers: [{ name: "app", image: "registry.example/api:1" }] },
        },
      },
    });
    await runningPod("api-6d4f8b7c9-xyz12", "127.0.0.12", {
      labels: { app: "api", "pod-template-hash": "6d4f8b7c9" },
      ...ref("apps/v1", "ReplicaSet", "api-6d4f8b7c9", "00000000-0000-0000-0000-0000000000a3"),
    });
    await dig("127.0.0.12", "files.example.org");
    const report = await eventually("the CronJob's ObservedEgress", async () => {
      const o = await observed("report");
      return named(o, "api.example.com") ? o : undefined;
    });
    t.deepEqual((report.spec as Obj).workload, { name: "report", kind: "CronJob" });
    t.is(await observed("report-29400000"), undefined, "nothing is written for the Job");
    const rollout = await eventually("the Rollout's ObservedEgress", async () => {
      const o = await observed("api");
      return named(o, "files.example.org") ? o : undefined;
    });
    t.deepEqual((rollout.spec as Obj).workload, { name: "api", kind: "Rollout" });
  },
);

test.serial(
  "a Service name in the cluster domain becomes a kubernetes destination of the workload behind it",
  async (t) => {
    await dig("127.0.0.5", `redis.${NS}.svc.cluster.local`);
    // A search-path miss (NXDOMAIN) records nothing.
    await dig("127.0.0.5", `api.example.com.${NS}.svc.cluster.local`);
    const oe = await eventually("redis in ObservedEgress web", async () => {
      const o = await observed("web");
      return destinations(o).some((d) => d.kubernetes) ? o : undefined;
    });
    t.deepEqual(destinations(oe).find((d) => d.kubernetes)?.kubernetes, {
      name: "redis",
      namespace: NS,
      kind: "StatefulSet",
      service: "redis",
    });
    t.false(JSON.stringify(oe).includes(`api.example.com.${NS}`));
    // A cluster name no Service has is counted apart, not as an unknown client.
    const before = await get(main.http, "/metrics");
    await dig("127.0.0.5", `gone.${NS}.svc.cluster.local`);
    const count = (text: string, metric: string) =>
      Number(new RegExp(`^${metric}\\{source="dnstap"\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
    const after = await eventually("the unknown cluster name counted", async () => {
      const m = await get(main.http, "/metrics");
      return count(m, "otter_egress_collector_unknown_cluster_names_total") >
        count(before, "otter_egress_collector_unknown_cluster_names_total")
        ? m
        : undefined;
    });
    t.is(
      count(after, "otter_egress_collector_unattributed_total"),
      count(before, "otter_egress_collector_unattributed_total"),
    );
  },
);

test.serial(
  "a sniffer TCP report adds the port to the name that resolved to that IP",
  async (t) => {
    const r = await post(
      main.sniffer,
      "/query",
      snifferReport("reportTCPCaptureResults", "127.0.0.5", [
        { destination: "93.184.216.34", destinationPort: 443, lastSeen: new Date().toISOString() },
      ]),
    );
    t.is(r.status, 200);
    t.deepEqual(JSON.parse(r.body), { data: { reportTCPCaptureResults: true } });
    const oe = await eventually("port 443 on api.example.com", async () => {
      const o = await observed("web");
      return named(o, "api.example.com")?.internet?.ports?.includes(443) ? o : undefined;
    });
    t.deepEqual(named(oe, "api.example.com")?.internet?.ports, [443]);
    const bad = await post(main.sniffer, "/query", "{not json");
    t.is(bad.status, 400);
    const unknown = await post(
      main.sniffer,
      "/query",
      JSON.stringify({ query: "mutation { dropTables }" }),
    );
    t.regex(unknown.body, /unknown field \\"dropTables\\"/);
    // Reports are accepted on the sniffer's port alone: the HTTP port (probes, metrics) has no
    // /query, so a NetworkPolicy can admit only the sniffer's pods to reports.
    const onHttp = await post(
      main.http,
      "/query",
      snifferReport("reportCaptureResults", "127.0.0.5", [
        {
          destination: "forged.example.net",
          destinationIP: "203.0.113.9",
          lastSeen: new Date().toISOString(),
        },
      ]),
    );
    t.is(onHttp.status, 404);
  },
);

test.serial(
  "the plugin reports the collector's observations against committed ClientIntents",
  async (t) => {
    const intents = join(dir, "web.yaml");
    writeFileSync(
      intents,
      dump(
        intentsFor("web", "Deployment", [{ kubernetes: { name: "redis", kind: "StatefulSet" } }]),
      ),
    );
    const r = await pluginDiff(["--intents", intents]);
    t.is(r.code, 1, r.stderr);
    t.regex(r.stdout, /missing +api\.example\.com/);
    t.regex(r.stdout, /matched +kubernetes redis/);
  },
);

test.serial("a bad dnstap connection is closed and counted; CoreDNS's keeps flowing", async (t) => {
  const closed = await new Promise<boolean>((resolve) => {
    const s = connect(main.dnstap, "127.0.0.1", () => {
      // A data frame before any handshake, then garbage.
      s.write(Buffer.from([0, 0, 0, 4, 1, 2, 3, 4, 0xff, 0xff]));
    });
    s.on("close", () => resolve(true));
    s.on("error", () => undefined);
    setTimeout(() => resolve(false), 5000).unref();
  });
  t.true(closed, "the collector hung up on the bad writer");
  t.regex(await get(main.http, "/metrics"), /decode_errors_total\{stage="frame-streams"\} [1-9]/);
  await dig("127.0.0.5", "files.example.org");
  await eventually("files.example.org after the bad connection", async () =>
    named(await observed("web"), "files.example.org") ? true : undefined,
  );
  t.regex(await get(main.http, "/metrics"), /otter_egress_collector_frames_total [1-9]/);
  t.is(await get(main.http, "/readyz"), "ok");
});

test.serial(
  "ClientIntents in the cluster get status.declared, and the Lease says the collector listens",
  async (t) => {
    await kubectl(
      cp.kubeconfig,
      ["apply", "-f", "-"],
      dump(
        intentsFor("web", "Deployment", [
          { internet: { domains: ["api.example.com"], ports: [443] } },
        ]),
      ),
    );
    const declared = await eventually("status.declared", async () => {
      const d = ((await observed("web"))?.status as Obj | undefined)?.declared as Obj[] | undefined;
      return d && d.length > 0 ? d : undefined;
    });
    t.deepEqual(
      declared.map((d) => d.target),
      [{ internet: { domains: ["api.example.com"] } }],
    );
    const lease = await sharedLease();
    t.is(lease.holder, "collector-a");
    t.true(Date.now() - lease.renewTime < 60_000);
  },
);

test.serial(
  "a restarted collector loses nothing that was flushed, and two collectors keep each other's data",
  async (t) => {
    const before = destinations(await observed("web")).length;
    t.true(before >= 3);
    await stopProcess(collectors[0]);
    // The restarted collector and a second one write the same workload at the same time.
    await startCollector(main, "collector-a");
    const second = { dnstap: await freePort(), http: await freePort(), sniffer: await freePort() };
    replicaB = second;
    await startCollector(second, "collector-b");
    const now = new Date().toISOString();
    await Promise.all([
      post(
        main.sniffer,
        "/query",
        snifferReport("reportCaptureResults", "127.0.0.5", [
          { destination: "one.example.net", destinationIP: "203.0.113.1", lastSeen: now },
        ]),
      ),
      post(
        second.sniffer,
        "/query",
        snifferReport("reportCaptureResults", "127.0.0.5", [
          { destination: "two.example.net", destinationIP: "203.0.113.2", lastSeen: now },
        ]),
      ),
    ]);
    const oe = await eventually("both collectors' names", async () => {
      const o = await observed("web");
      return named(o, "one.example.net") && named(o, "two.example.net") ? o : undefined;
    });
    t.is(
      destinations(oe).length,
      before + 2,
      "everything written before the restart is still there",
    );
    t.deepEqual(named(oe, "api.example.com")?.internet?.ports, [443]);
  },
);

test.serial(
  "writers racing on one object: every write is merged again after a conflict, nothing is lost",
  async (t) => {
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    const metrics = new CollectorMetrics();
    const publisher = new Publisher(kc, metrics);
    const workload = { namespace: NS, name: "racer", kind: "Deployment" };
    const now = Date.now();
    const writers = Array.from({ length: 8 }, (_, i) => {
      const state = new EgressState();
      state.record({
        workload,
        target: { kind: "internet", dnsName: `w${i}.example.com`, ips: [`192.0.2.${i + 1}`] },
        timeMs: now,
      });
      return state.takeDirty()[0];
    });
    const results = await Promise.all(
      writers.map((s) => publisher.publish(workload, s, undefined)),
    );
    t.true(results.every((r) => r === "written"));
    const oe = await observed("racer");
    t.deepEqual(
      destinations(oe)
        .map((d) => d.internet?.dnsName)
        .sort(),
      Array.from({ length: 8 }, (_, i) => `w${i}.example.com`),
    );
    t.true(metrics.value("otter_egress_collector_conflicts_total") > 0, "the writers did race");
  },
);

const metric = async (name: string, port = main.http): Promise<number | undefined> => {
  const line = (await get(port, "/metrics"))
    .split("\n")
    .find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.split(" ").pop());
};

test.serial(
  "a workload that asked for nothing and declares nothing gets no ObservedEgress",
  async (t) => {
    // redis-0 runs and is asked for, but never asks: after several flushes it has no object.
    await new Promise((r) => setTimeout(r, 2000));
    t.truthy(await observed("web"));
    t.is(await observed("redis"), undefined);
  },
);

test.serial(
  "the Lease is renewed only while every cluster DNS pod is heard, and says which is not",
  async (t) => {
    // CoreDNS dials a restarted collector again only once a write fails: when it has
    // something to send after its buffer failed to flush (one lookup, a second later another).
    await eventually("CoreDNS heard", async () => {
      await dig("127.0.0.5", "api.example.com");
      return (await metric("otter_egress_collector_dns_servers_unheard")) === 0 ? true : undefined;
    });
    // Replicas share what they hear: CoreDNS streams to replica a only, and b hears it too.
    const b = replicaB;
    if (!b) return t.fail("the restart test starts replica b");
    await eventually("replica b hears CoreDNS through a's Lease", async () =>
      (await metric("otter_egress_collector_dns_servers_unheard", b.http)) === 0 ? true : undefined,
    );
    // A second CoreDNS pod that never streams to any replica.
    await runningPod(
      "coredns-silent",
      "127.0.0.19",
      { labels: { "k8s-app": "kube-dns" } },
      "kube-system",
      {
        dnsPolicy: "Default",
      },
    );
    await eventually("the unheard server counted", async () =>
      (await metric("otter_egress_collector_dns_servers_unheard")) === 1 ? true : undefined,
    );
    const frozen = await leaseRenewTime();
    await new Promise((r) => setTimeout(r, 3000));
    t.is(await leaseRenewTime(), frozen, "not renewed while a DNS server is not heard");
    await kubectl(cp.kubeconfig, [
      "delete",
      "pod",
      "coredns-silent",
      "-n",
      "kube-system",
      "--wait=false",
    ]);
    await eventually("the Lease renewed again", async () =>
      (await leaseRenewTime()) > frozen ? true : undefined,
    );
    // The Lease may be renewed by replica b while a's informer has yet to see the pod go: a
    // counts it unheard until then, and no longer.
    const unheard = await eventually("replica a hears every server again", async () => {
      const n = await metric("otter_egress_collector_dns_servers_unheard");
      return n === 0 ? n : undefined;
    });
    t.is(unheard, 0);
  },
);

test.serial(
  "pods whose lookups bypass the cluster DNS: coverage none with the reason, which the plugin shows",
  async (t) => {
    await runningPod("nightly", "127.0.0.8", {}, NS, { dnsPolicy: "Default" });
    await kubectl(
      cp.kubeconfig,
      ["apply", "-f", "-"],
      dump(intentsFor("nightly", "Pod", [{ internet: { domains: ["reports.example.com"] } }])),
    );
    const oe = await eventually("coverage none", async () => {
      const o = await observed("nightly");
      return (o?.status as Obj | undefined)?.coverage ? o : undefined;
    });
    const { since, ...coverage } = (oe.status as Obj).coverage as Obj;
    t.deepEqual(coverage, { state: "none", reason: "pods use dnsPolicy Default" });
    t.false(Number.isNaN(Date.parse(String(since))), "when the state began");
    const r = await pluginDiff(["--fail-on", "none", "-o", "wide"]);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /unverified +reports\.example\.com/);
    t.regex(r.stdout, /pods use dnsPolicy Default: egress cannot be observed/);
  },
);

test.serial(
  "CoreDNS silent for more than two minutes: coverage none, then a gap, and observation restarts",
  async (t) => {
    t.timeout(300_000);
    const before = await observed("web");
    await stopProcess(coredns);
    coredns = undefined;
    const none = await eventually(
      "coverage none after two minutes",
      async () => {
        const o = await observed("web");
        return ((o?.status as Obj | undefined)?.coverage as Obj | undefined)?.state === "none"
          ? o
          : undefined;
      },
      200_000,
    );
    const { since: brokeAt, ...noneCoverage } = (none.status as Obj).coverage as Obj;
    t.deepEqual(noneCoverage, {
      state: "none",
      reason: "no dnstap session from kube-system/coredns-test",
    });
    t.is((none.status as Obj).observingSince, (before?.status as Obj).observingSince);
    coredns = await startCoreDns(main.dnstap);
    // Both replicas judge the break, each from what it hears (replica B through A's Lease, a
    // moment later): the stored status settles on the gap and full coverage once both have.
    const after = await eventually("the gap, and coverage full again", async () => {
      const o = await observed("web");
      const st = o?.status as Obj | undefined;
      return (st?.gaps as Obj[] | undefined)?.length &&
        (st?.coverage as Obj | undefined)?.state === "full"
        ? o
        : undefined;
    });
    const status = after.status as Obj;
    const [gap] = status.gaps as Array<{ from: string; to: string; why: string }>;
    t.is(gap?.why, "no dnstap session from kube-system/coredns-test");
    t.true(Date.parse(gap?.to ?? "") - Date.parse(gap?.from ?? "") > 120_000);
    t.is(status.observingSince, gap?.to, "the observable period starts after the gap");
    const { since: heardAt, ...fullCoverage } = status.coverage as Obj;
    t.deepEqual(fullCoverage, { state: "full" });
    t.true(Date.parse(String(heardAt)) > Date.parse(String(brokeAt)), "full began after the break");
    // Replica B hears CoreDNS again only through A's Lease, a moment later: its view of the
    // break, older than A's news, is never written over it.
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const st = (await observed("web"))?.status as Obj | undefined;
      t.is((st?.coverage as Obj | undefined)?.state, "full", `read ${i + 1}: coverage went back`);
    }
    const intents = join(dir, "web-unused.yaml");
    writeFileSync(
      intents,
      dump(intentsFor("web", "Deployment", [{ internet: { domains: ["unused.example.com"] } }])),
    );
    // Replica B may still write its own view of the break (it hears CoreDNS through A's Lease,
    // a moment later) until it has judged the break over too: read until the replicas agree.
    const gapReason =
      /observable only since \S+, after a gap: no dnstap session from kube-system\/coredns-test from/;
    const r = await eventually("both replicas past the break", async () => {
      const out = await pluginDiff(["--intents", intents, "--fail-on", "none", "-o", "wide"]);
      return gapReason.test(out.stdout) ? out : undefined;
    });
    t.regex(r.stdout, gapReason);
  },
);

test.serial(
  "a write too large for etcd is cut to the most recent destinations, and says so",
  async (t) => {
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    const publisher = new Publisher(kc, new CollectorMetrics());
    const workload = { namespace: NS, name: "chatty", kind: "Deployment" };
    const state = new EgressState();
    const now = Date.now();
    // 2,000 names with 64 IPv6 addresses each: about 6 MB of status, over etcd's 1.5 MiB.
    for (let n = 0; n < 2000; n++) {
      state.record({
        workload,
        target: {
          kind: "internet",
          dnsName: `host-${n}.cdn.example.com`,
          ips: Array.from(
            { length: 64 },
            (_, i) => `2001:db8:${n.toString(16)}:${i.toString(16)}::ffff:ffff`,
          ),
        },
        timeMs: now - (2000 - n) * 1000,
      });
    }
    const [snapshot] = state.takeDirty();
    t.is(await publisher.publish(workload, snapshot, undefined), "written");
    const stored = await observed("chatty");
    const status = stored?.status as Obj;
    t.true(JSON.stringify(stored).length < 1024 * 1024, "well under etcd's limit");
    t.regex(String(status.truncated), /destinations \(over 512 KiB\)/);
    const kept = destinations(stored).map((d) => d.internet?.dnsName);
    t.true(kept.includes("host-1999.cdn.example.com"), "the most recently seen are kept");
    t.false(kept.includes("host-0.cdn.example.com"), "the least recently seen go first");
  },
);

test.serial(
  "a destination the API server refuses is dropped and counted; the rest is written",
  async (t) => {
    // A policy in the cluster refuses one name (as Kyverno or Gatekeeper might).
    await kubectl(
      cp.kubeconfig,
      ["apply", "-f", "-"],
      [
        dump({
          apiVersion: "admissionregistration.k8s.io/v1",
          kind: "ValidatingAdmissionPolicy",
          metadata: { name: "no-refused-names" },
          spec: {
            failurePolicy: "Fail",
            matchConstraints: {
              resourceRules: [
                {
                  apiGroups: ["egress.otter.dev"],
                  apiVersions: ["*"],
                  operations: ["UPDATE"],
                  resources: ["observedegresses/status"],
                },
              ],
            },
            validations: [
              {
                expression:
                  "!has(object.status.destinations) || object.status.destinations.all(d, !has(d.internet) || !has(d.internet.dnsName) || d.internet.dnsName != 'refused.example.com')",
                message: "refused.example.com may not be stored",
              },
              {
                expression: "object.metadata.name != 'blocked'",
                message: "nothing may be written to blocked",
              },
            ],
          },
        }),
        dump({
          apiVersion: "admissionregistration.k8s.io/v1",
          kind: "ValidatingAdmissionPolicyBinding",
          metadata: { name: "no-refused-names" },
          spec: { policyName: "no-refused-names", validationActions: ["Deny"] },
        }),
      ].join("---\n"),
    );
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    const metrics = new CollectorMetrics();
    const publisher = new Publisher(kc, metrics);
    const workload = { namespace: NS, name: "picky", kind: "Deployment" };
    const state = new EgressState();
    for (const name of ["a.example.com", "refused.example.com", "b.example.com", "c.example.com"]) {
      state.record({
        workload,
        target: { kind: "internet", dnsName: name, ips: ["192.0.2.9"] },
        timeMs: Date.now(),
      });
    }
    const [snapshot] = state.takeDirty();
    // The policy takes a moment to be enforced: until then the write may succeed.
    let dropped: readonly string[] = [];
    // A new probe workload each time: seen again within the granularity, a destination that
    // is stored already is not written again.
    let probes = 0;
    await eventually("the policy enforced", async () => {
      const probe = new EgressState();
      const name = `probe-${++probes}`;
      probe.record({
        workload: { ...workload, name },
        target: { kind: "internet", dnsName: "refused.example.com", ips: [] },
        timeMs: Date.now(),
      });
      const r = await new Publisher(kc, new CollectorMetrics()).publish(
        { ...workload, name },
        probe.takeDirty()[0],
        undefined,
      );
      return r === "refused" ? true : undefined;
    });
    const result = await publisher.publish(workload, snapshot, undefined, Date.now, (r) => {
      dropped = r.keys;
    });
    t.is(result, "written");
    t.deepEqual(dropped, ["refused.example.com"]);
    t.deepEqual(
      destinations(await observed("picky"))
        .map((d) => d.internet?.dnsName)
        .sort(),
      ["a.example.com", "b.example.com", "c.example.com"],
    );
    t.is(metrics.value("otter_egress_collector_items_dropped_total", 'reason="refused"'), 1);
    // A refusal that is not the new destinations' fault blames none of them.
    const blocked = { namespace: NS, name: "blocked", kind: "Deployment" };
    const b = new EgressState();
    b.record({
      workload: blocked,
      target: { kind: "internet", dnsName: "fine.example.com", ips: ["192.0.2.8"] },
      timeMs: Date.now(),
    });
    let blamed: readonly string[] | undefined;
    t.is(
      await publisher.publish(blocked, b.takeDirty()[0], undefined, Date.now, (r) => {
        blamed = r.keys;
      }),
      "refused",
    );
    t.is(blamed, undefined, "no destination is dropped for it");
    // Not recorded again, so it costs no more refused writes.
    state.refuse("shop/picky", dropped);
    t.false(
      state.record({
        workload,
        target: { kind: "internet", dnsName: "refused.example.com", ips: ["192.0.2.9"] },
        timeMs: Date.now(),
      }),
    );
  },
);

test.serial(
  "the ObservedEgress of a workload gone for longer than the window is removed; a dormant one stays",
  async (t) => {
    const longAgo = new Date(Date.now() - 30 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");
    const old = async (name: string, kind: string) => {
      await create({
        apiVersion: "egress.otter.dev/v1alpha1",
        kind: "ObservedEgress",
        metadata: { name, namespace: NS },
        spec: { workload: { name, kind } },
      });
      await kubectl(cp.kubeconfig, [
        "patch",
        "oe",
        name,
        "-n",
        NS,
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({
          status: {
            updatedAt: longAgo,
            observingSince: longAgo,
            destinations: [{ internet: { dnsName: "old.example.com" }, lastSeen: longAgo }],
          },
        }),
      ]);
    };
    // A Deployment scaled to zero still has its ReplicaSet: dormant, not gone.
    await create({
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: "dormant-7f9c",
        namespace: NS,
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            name: "dormant",
            uid: "00000000-0000-0000-0000-0000000000d1",
            controller: true,
          },
        ],
      },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: "dormant" } },
        template: {
          metadata: { labels: { app: "dormant" } },
          spec: { containers: [{ name: "app", image: "registry.example/d:1" }] },
        },
      },
    });
    await old("ghost", "Deployment");
    await old("dormant", "Deployment");
    await eventually("the gone workload's object removed", async () =>
      (await observed("ghost")) === undefined ? true : undefined,
    );
    t.truthy(await observed("dormant"), "a dormant workload keeps its history");
    t.truthy(await observed("web"), "a running one too");
    t.truthy(await observed("nightly"), "and one with ClientIntents");
    // Either replica may have removed it.
    const removed = await Promise.all(
      [main, replicaB].map(async (p) =>
        p ? ((await metric("otter_egress_collector_removed_total", p.http)) ?? 0) : 0,
      ),
    );
    t.is(removed[0]! + removed[1]!, 1);
  },
);

test("bad flags are one clear error and exit 2, before anything starts", async (t) => {
  for (const [args, message] of [
    [["--cluster-domain", "bad zone!"], /--cluster-domain: "bad zone!" is not a DNS zone/],
    [["--sniffer-listen", "nowhere"], /--sniffer-listen/],
  ] as const) {
    const r = await exec(process.execPath, ["dist/cmd/collector.js", ...args]);
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, message);
    t.is(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});
