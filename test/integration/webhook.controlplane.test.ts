import { generateKeyPair } from "../../webhook/key-pair.js";
import { spawn, type ChildProcess } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "node:https";
import { connect as tlsConnect } from "node:tls";
import test from "ava";
import { dump, load } from "js-yaml";
import { KubeConfig } from "@kubernetes/client-node";
import { issueServing, webhookCa } from "../../src/tls.js";
import { TlsSecret } from "../../webhook/tls-secret.js";
import type { ControlPlane } from "../controlplane/controlplane.js";
import { findRepoRoot } from "../controlplane/controlplane.js";
import { crdFiles as crdFilesOf } from "../controlplane/crds.js";
import { eventually } from "../helpers/node.js";
import {
  applyLease,
  applyObserved,
  ensureNamespace,
  exec,
  freePort,
  KUBECTL,
  kubectl,
  startCluster,
} from "../helpers/cluster.js";
import { review as reviewOf } from "../helpers/review.js";

/**
 * The admission webhook end to end: the real API server calls it (registered by URL on
 * loopback), and the real kubectl shows what it says.
 */

let cp: ControlPlane;
let webhook: ChildProcess;
let port: number;
const logs: string[] = [];

type Obj = Record<string, unknown>;
const worker = load(readFileSync("examples/intents/joke-worker.yaml", "utf8")) as Obj;
const snapshot = load(readFileSync("examples/observed/snapshot.yaml", "utf8")) as { items: Obj[] };

function inNamespace<T extends Obj>(o: T, ns: string, extra: Obj = {}): T {
  return { ...o, metadata: { ...(o.metadata as Obj), namespace: ns, ...extra } };
}

/**
 * The example is written as seen at EXAMPLE_NOW, and the webhook judges at the wall clock: its
 * times are moved forward by the time since (in whole minutes), so that what is recent, and what
 * was declared long enough ago, stays so whatever day the tests run.
 */
const EXAMPLE_NOW = Date.parse("2026-11-25T10:00:00Z");
const SHIFT_MS = Math.floor((Date.now() - EXAMPLE_NOW) / 60_000) * 60_000;
const at = (time: string) =>
  new Date(Date.parse(time) + SHIFT_MS).toISOString().replace(/\.\d+Z$/, "Z");

/** The example's observations, moved (with their in-cluster destinations) to namespace `ns`. */
function observedIn(ns: string): Obj[] {
  return JSON.parse(
    JSON.stringify(snapshot.items)
      .replaceAll('"namespace":"dev"', `"namespace":"${ns}"`)
      .replace(/"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"/g, (_, time: string) => `"${at(time)}"`),
  ) as Obj[];
}

/** The worker's Deployment in namespace `ns`. */
function workerDeployment(ns: string): Obj {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "joke-worker", namespace: ns },
    spec: {
      selector: { matchLabels: { app: "joke-worker" } },
      template: {
        metadata: { labels: { app: "joke-worker" } },
        spec: { containers: [{ name: "w", image: "joke-worker:1" }] },
      },
    },
  };
}

/** The worker's intents, made to match what was observed. */
function goodIntents(ns: string): Obj {
  const spec = worker.spec as { targets: Obj[] };
  const targets = spec.targets.filter(
    (t) => JSON.stringify(t).indexOf("api.jokes.example.com") < 0,
  );
  targets.push({ internet: { domains: ["sts.eu-west-2.amazonaws.com"], ports: [443] } });
  return inNamespace({ ...worker, spec: { ...spec, targets } }, ns);
}

function startWebhook(args: string[] = [], at = port, register = true): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      "dist/cmd/webhook.js",
      "--kubeconfig",
      cp.kubeconfig,
      "--port",
      String(at),
      ...(register ? ["--register-url", `https://127.0.0.1:${at}/validate`] : []),
      ...args,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`webhook did not register: ${logs.join("")}`)),
      60_000,
    );
    const onData = (d: Buffer) => {
      logs.push(d.toString());
      if (d.toString().includes(register ? '"msg":"registered"' : '"msg":"caches synced"')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (d: Buffer) => logs.push(d.toString()));
    child.on("exit", (code) => reject(new Error(`webhook exited ${code}: ${logs.join("")}`)));
  });
}

function stopWebhook(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

let probes = 0;
/**
 * The object changed in a way the webhook judges (a metadata-only change is never sent): a
 * workload's pod template, or ClientIntents under a new name (a CREATE).
 */
function changed(o: Obj): Obj {
  const meta = o.metadata as Obj;
  probes++;
  if (o.kind === "ClientIntents") {
    return { ...o, metadata: { ...meta, name: `${String(meta.name)}-probe-${probes}` } };
  }
  const spec = o.spec as Obj;
  const template = spec.template as Obj;
  const tmeta = (template.metadata as Obj | undefined) ?? {};
  const annotations = {
    ...((tmeta.annotations as Obj | undefined) ?? {}),
    "test/probe": String(probes),
  };
  return {
    ...o,
    spec: { ...spec, template: { ...template, metadata: { ...tmeta, annotations } } },
  };
}

const apply = (o: Obj, ...flags: string[]) =>
  exec(KUBECTL, ["--kubeconfig", cp.kubeconfig, "apply", ...flags, "-f", "-"], {}, dump(o));

function metrics(): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path: "/metrics", rejectUnauthorized: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve(body));
    })
      .on("error", reject)
      .end();
  });
}

const decisions = (m: string) =>
  [
    ...m.matchAll(
      /otter_egress_admission_decisions_total\{result="\w+",mode="\w+",dry_run="\w+"\} (\d+)/g,
    ),
  ].reduce((a, x) => a + Number(x[1]), 0);

test.before(async () => {
  cp = await startCluster();
  const k = cp.kubeconfig;
  for (const [ns, mode] of [
    ["gate-enforce", "enforce"],
    ["gate-warn", "warn"],
    ["ungated", undefined],
  ] as const) {
    await ensureNamespace(k, ns);
    if (mode) await kubectl(k, ["label", "namespace", ns, `egress.otter.dev/gate=${mode}`]);
    await applyObserved(k, observedIn(ns));
  }
  await applyLease(k, "otter-egress", new Date().toISOString().replace(/\.\d+Z$/, "Z"));
  port = await freePort();
  webhook = await startWebhook(["--cert-validity", "15s"]);
});

test.after.always(async () => {
  if (webhook) await stopWebhook(webhook);
  await cp?.stop();
});

test.serial(
  "in an enforce namespace, intents that omit observed egress or keep unused egress are denied",
  async (t) => {
    const r = await apply(inNamespace(worker, "gate-enforce"));
    t.not(r.code, 0);
    t.regex(r.stderr, /admission webhook "enforce\.egress\.otter\.dev" denied the request/);
    t.true(
      r.stderr.includes(
        `missing sts.eu-west-2.amazonaws.com:443 (last seen ${at("2026-11-25T09:40:00Z")})`,
      ),
      r.stderr,
    );
    t.regex(r.stderr, /unnecessary api\.jokes\.example\.com/);
    t.regex(r.stderr, /kubectl otter egress suggest -n gate-enforce joke-worker/);
    const m = await metrics();
    t.regex(
      m,
      /otter_egress_admission_decisions_total\{result="denied",mode="enforce",dry_run="false"\} [1-9]/,
    );
    t.regex(m, /otter_egress_admission_findings_total\{verdict="missing",mode="enforce"\} [1-9]/);
    t.regex(
      m,
      /otter_egress_admission_findings_total\{verdict="unnecessary",mode="enforce"\} [1-9]/,
    );
    const ok = await apply(goodIntents("gate-enforce"));
    t.is(ok.code, 0, ok.stderr);
  },
);

test.serial(
  "in a warn namespace the same apply succeeds with warnings; an ungated namespace is never sent",
  async (t) => {
    const warned = await apply(inNamespace(worker, "gate-warn"));
    t.is(warned.code, 0);
    t.regex(
      warned.stderr,
      /Warning: otter egress: gate-warn\/joke-worker \(Deployment\) intents drift/,
    );
    t.regex(warned.stderr, /Warning: otter egress: missing sts\.eu-west-2\.amazonaws\.com:443/);
    const before = decisions(await metrics());
    const plain = await apply(inNamespace(worker, "ungated"));
    t.is(plain.code, 0);
    t.is(plain.stderr, "");
    t.is(decisions(await metrics()), before, "the API server did not call the webhook");
  },
);

test.serial(
  "a Deployment whose intents are stale is denied, and allowed once they are fixed",
  async (t) => {
    const ns = "gate-enforce";
    const skipped = await apply(
      inNamespace(worker, ns, { annotations: { "egress.otter.dev/skip": "fixing it next" } }),
    );
    t.is(skipped.code, 0);
    t.regex(skipped.stderr, /Warning: otter egress: check skipped \(fixing it next\)/);
    const deployment = workerDeployment(ns);
    const denied = await apply(deployment);
    t.not(denied.code, 0);
    t.regex(
      denied.stderr,
      /denied the request: otter egress: the intents of gate-enforce\/joke-worker \(Deployment\)/,
    );
    t.is((await apply(goodIntents(ns))).code, 0);
    const allowed = await apply(deployment);
    t.is(allowed.code, 0, allowed.stderr);
  },
);

test.serial(
  "a gated Deployment's finalizers come on and off and it is deleted; such updates never reach the webhook",
  async (t) => {
    const ns = "gate-enforce";
    const k = (...args: string[]) =>
      exec(KUBECTL, ["--kubeconfig", cp.kubeconfig, "-n", ns, ...args]);
    // The worker's intents go stale (kept, with a reason), so a change to its pods is denied.
    const skipped = inNamespace(worker, ns, { annotations: { "egress.otter.dev/skip": "later" } });
    t.is((await apply(skipped)).code, 0);
    const deployment = workerDeployment(ns);
    await apply(deployment);
    const before = decisions(await metrics());
    const held = await k(
      "patch",
      "deployment",
      "joke-worker",
      "--type=merge",
      "-p",
      JSON.stringify({ metadata: { finalizers: ["example.com/hold"], labels: { team: "jokes" } } }),
    );
    t.is(held.code, 0, held.stderr);
    t.is((await k("scale", "deployment", "joke-worker", "--replicas=3")).code, 0);
    const image = await k("set", "image", "deployment/joke-worker", "w=joke-worker:2");
    t.not(image.code, 0, "a change to the pods is still judged");
    t.regex(image.stderr, /denied the request/);
    t.is((await k("delete", "deployment", "joke-worker", "--wait=false")).code, 0);
    const released = await k(
      "patch",
      "deployment",
      "joke-worker",
      "--type=merge",
      "-p",
      JSON.stringify({ metadata: { finalizers: null } }),
    );
    t.is(released.code, 0, released.stderr);
    const gone = await k("get", "deployment", "joke-worker");
    t.regex(gone.stderr, /NotFound/);
    t.is(decisions(await metrics()), before + 1, "only the image change was sent to the webhook");
    t.is((await apply(goodIntents(ns))).code, 0);
  },
);

test.serial("a change to ObservedEgress changes the decision within seconds", async (t) => {
  const ns = "gate-enforce";
  const good = goodIntents(ns);
  t.is((await apply(changed(good), "--dry-run=server")).code, 0);
  const status = { ...((observedIn(ns)[1] as Obj).status as Obj) };
  const destinations = [
    ...(status.destinations as Obj[]),
    {
      internet: { dnsName: "api.new-vendor.example", ips: ["203.0.113.5"], ports: [443] },
      firstSeen: at("2026-11-25T09:00:00Z"),
      lastSeen: at("2026-11-25T09:59:00Z"),
    },
  ];
  await kubectl(cp.kubeconfig, [
    "patch",
    "oe",
    "joke-worker",
    "-n",
    ns,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status: { ...status, destinations } }),
  ]);
  const started = Date.now();
  let r = await apply(changed(good), "--dry-run=server");
  while (r.code === 0 && Date.now() - started < 10_000) {
    await new Promise((done) => setTimeout(done, 200));
    r = await apply(changed(good), "--dry-run=server");
  }
  t.not(r.code, 0);
  t.regex(r.stderr, /missing api\.new-vendor\.example:443/);
  t.log(`decision changed after ${Date.now() - started} ms`);
});

test.serial("a rotated serving certificate keeps working without a restart", async (t) => {
  // The certificate lives 15 s and is renewed after 10 s: past 20 s only a renewed one works.
  await new Promise((done) => setTimeout(done, 21_000));
  t.true(logs.join("").includes("serving certificate reloaded"));
  // The webhook still answers (over the renewed certificate): it denies, as the last test left
  // an unexpected destination observed, instead of the API server failing to call it.
  const r = await apply(changed(goodIntents("gate-enforce")), "--dry-run=server");
  t.notRegex(r.stderr, /failed calling webhook/);
  t.regex(r.stderr, /denied the request: otter egress: .*missing api\.new-vendor\.example:443/);
});

test.serial("with the webhook stopped, the API server follows failurePolicy Fail", async (t) => {
  await stopWebhook(webhook);
  const r = await apply(changed(goodIntents("gate-enforce")), "--dry-run=server");
  t.not(r.code, 0);
  t.regex(r.stderr, /failed calling webhook "enforce\.egress\.otter\.dev"/);
  const ungated = await apply(changed(inNamespace(worker, "ungated")), "--dry-run=server");
  t.is(ungated.code, 0, "namespaces that are not gated never depend on the webhook");
  const warned = await apply(changed(inNamespace(worker, "gate-warn")), "--dry-run=server");
  t.is(warned.code, 0, "a namespace that only asked for warnings is never blocked by an outage");
});

test.serial("with failurePolicy Ignore, a stopped webhook lets requests through", async (t) => {
  webhook = await startWebhook(["--failure-policy", "Ignore"]);
  await stopWebhook(webhook);
  const r = await apply(changed(inNamespace(worker, "gate-enforce")), "--dry-run=server");
  t.is(r.code, 0, r.stderr);
});

test.serial("a partial or corrupt TLS Secret is replaced once, not looped on", async (t) => {
  t.timeout(60_000);
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  const ns = "tls-repair";
  await ensureNamespace(cp.kubeconfig, ns);
  const names = { dnsNames: ["wh.tls-repair.svc"], ips: [] };
  const tls = new TlsSecret(kc, ns, "wh-tls", names, 3_600_000);
  const ca = webhookCa(generateKeyPair(), Date.now());
  const serving = issueServing(ca, generateKeyPair(), names, Date.now(), 3_600_000);
  const b64 = (x: string) => Buffer.from(x).toString("base64");
  const put = (data: Record<string, string>) =>
    exec(
      KUBECTL,
      ["--kubeconfig", cp.kubeconfig, "apply", "-f", "-"],
      {},
      dump({ apiVersion: "v1", kind: "Secret", metadata: { name: "wh-tls", namespace: ns }, data }),
    );
  // As cert-manager writes it: no CA key.
  await put({ "tls.crt": b64(serving.cert), "tls.key": b64(serving.key), "ca.crt": b64(ca.cert) });
  const first = await tls.current();
  t.is(tls.replaced, 1);
  t.truthy(
    new X509Certificate(first.serving.cert).verify(new X509Certificate(first.ca.cert).publicKey),
  );
  const again = await tls.current();
  t.is(again.ca.cert, first.ca.cert, "a whole Secret is used as it is");
  t.is(tls.replaced, 1);
  // A kubernetes.io/tls Secret (its type cannot change): repaired keeping its type.
  await exec(KUBECTL, ["--kubeconfig", cp.kubeconfig, "-n", ns, "delete", "secret", "wh-tls"]);
  await exec(
    KUBECTL,
    ["--kubeconfig", cp.kubeconfig, "apply", "-f", "-"],
    {},
    dump({
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/tls",
      metadata: { name: "wh-tls", namespace: ns },
      data: { "tls.crt": b64(serving.cert), "tls.key": b64(serving.key) },
    }),
  );
  await tls.current();
  t.is(tls.replaced, 2);
  const typed = JSON.parse(
    await kubectl(cp.kubeconfig, ["-n", ns, "get", "secret", "wh-tls", "-o", "json"]),
  ) as { type: string; data: Record<string, string> };
  t.is(typed.type, "kubernetes.io/tls");
  t.truthy(typed.data["ca.key"]);
  // Garbage where PEM should be: replaced, the process unharmed.
  await exec(KUBECTL, ["--kubeconfig", cp.kubeconfig, "-n", ns, "delete", "secret", "wh-tls"]);
  await put({
    "tls.crt": b64("not a certificate"),
    "tls.key": b64("not a key either"),
    "ca.crt": b64("x"),
    "ca.key": b64("y"),
  });
  const repaired = await tls.current();
  t.is(tls.replaced, 3);
  t.not(repaired.ca.cert, first.ca.cert);
});

/** The fingerprint of the certificate a server on loopback presents. */
function servedCert(at: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port: at, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? "");
      socket.end();
    });
    socket.on("error", reject);
  });
}

test.serial(
  "replicas share a CA and serving certificate through a Secret, renew it, and patch the caBundle",
  async (t) => {
    const secretArgs = ["--tls-secret", "otter-egress/webhook-tls", "--cert-validity", "12s"];
    const portB = await freePort();
    const portA = await freePort();
    const a = await startWebhook(secretArgs, portA);
    // Spoil the caBundle A registered: B, started with --patch-ca-bundle, must put the CA back.
    const spoiled = Buffer.from("not a CA").toString("base64");
    const spoil = [{ op: "replace", path: "/webhooks/0/clientConfig/caBundle", value: spoiled }];
    await kubectl(cp.kubeconfig, [
      "patch",
      "validatingwebhookconfiguration",
      "otter-egress",
      "--type=json",
      "-p",
      JSON.stringify(spoil),
    ]);
    const b = await startWebhook(
      [...secretArgs, "--patch-ca-bundle", "otter-egress"],
      portB,
      false,
    );
    try {
      const first = await servedCert(portA);
      t.is(await servedCert(portB), first, "both replicas serve the Secret's certificate");
      const secret = JSON.parse(
        await kubectl(cp.kubeconfig, [
          "get",
          "secret",
          "webhook-tls",
          "-n",
          "otter-egress",
          "-o",
          "json",
        ]),
      ) as { data: Record<string, string> };
      const config = JSON.parse(
        await kubectl(cp.kubeconfig, [
          "get",
          "validatingwebhookconfiguration",
          "otter-egress",
          "-o",
          "json",
        ]),
      ) as { webhooks: Array<{ clientConfig: { caBundle: string } }> };
      t.is(
        config.webhooks[0]?.clientConfig.caBundle,
        secret.data["ca.crt"],
        "the caBundle is the shared CA",
      );
      // Renewed in its last third (after ~8 s), and again every ~8 s after that; replicas poll
      // every 2 s. So one replica may be a poll behind the other at any moment: once renewed,
      // they must agree within a few polls.
      const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
      await sleep(9_000);
      const deadline = Date.now() + 10_000;
      let renewed = await servedCert(portA);
      let other = await servedCert(portB);
      while ((renewed === first || other !== renewed) && Date.now() < deadline) {
        await sleep(250);
        renewed = await servedCert(portA);
        other = await servedCert(portB);
      }
      t.not(renewed, first, "the certificate is renewed");
      t.is(other, renewed, "both replicas serve the renewed certificate");
      const r = await apply(changed(goodIntents("gate-enforce")), "--dry-run=server");
      t.notRegex(r.stderr, /failed calling webhook/);
    } finally {
      await stopWebhook(a);
      await stopWebhook(b);
    }
  },
);

test.serial(
  "certificate files given with --tls-cert/--tls-key are served, and reloaded when they change",
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "otter-tls-"));
    const certFile = join(dir, "tls.crt");
    const keyFile = join(dir, "tls.key");
    const names = { dnsNames: ["localhost"], ips: ["127.0.0.1"] };
    const issue = () => {
      const keys = generateKeyPair(2048);
      const ca = webhookCa(keys, Date.now());
      return issueServing(ca, keys, names, Date.now(), 3_600_000);
    };
    const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
    const first = issue();
    writeFileSync(certFile, first.cert);
    writeFileSync(keyFile, first.key);
    const at = await freePort();
    const child = await startWebhook(["--tls-cert", certFile, "--tls-key", keyFile], at, false);
    try {
      t.is(await servedCert(at), fingerprint(first.cert));
      // As cert-manager renews a Secret's files: both are replaced while the server runs.
      const next = issue();
      writeFileSync(keyFile, next.key);
      writeFileSync(certFile, next.cert);
      const deadline = Date.now() + 15_000;
      let served = await servedCert(at);
      while (served !== fingerprint(next.cert) && Date.now() < deadline) {
        await new Promise((done) => setTimeout(done, 250));
        served = await servedCert(at);
      }
      t.is(served, fingerprint(next.cert), "the new certificate is served without a restart");
      t.is(child.exitCode, null);
    } finally {
      await stopWebhook(child);
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

/** POSTs an AdmissionReview to a webhook on loopback; its response. */
function review(at: number, body: Obj): Promise<Obj> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: at,
        path: "/validate",
        method: "POST",
        rejectUnauthorized: false,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve(JSON.parse(text) as Obj));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

function get(at: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port: at, path, rejectUnauthorized: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on("error", reject)
      .end();
  });
}

test.serial(
  "without Otterize's ClientIntents CRD the webhook runs, judges with nothing declared, and picks the CRD up once installed",
  async (t) => {
    t.timeout(120_000);
    const k = (...args: string[]) => exec(KUBECTL, ["--kubeconfig", cp.kubeconfig, ...args]);
    const crd = crdFilesOf(findRepoRoot()).find((f) => f.includes("clientintents")) as string;
    t.is((await k("delete", "-f", crd, "--wait=true")).code, 0);
    const at = await freePort();
    const child = await startWebhook([], at, false);
    try {
      const ready = await get(at, "/readyz");
      t.is(ready.status, 200);
      t.regex(ready.body, /^ok: no ClientIntents CRD/);
      const answer = await review(
        at,
        reviewOf({
          uid: "u-crd",
          object: {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "joke-worker", namespace: "gate-enforce" },
            spec: { template: { spec: { containers: [{ name: "w", image: "w:1" }] } } },
          },
        }),
      );
      const response = answer.response as Obj;
      t.false(response.allowed, "nothing declared: what it calls is missing");
      t.regex(String((response.status as Obj).message), /missing/);
      t.is((await k("apply", "-f", crd)).code, 0);
      await eventually(
        "the webhook watching ClientIntents",
        async () => ((await get(at, "/readyz")).body === "ok" ? true : undefined),
        60_000,
      );
      // Log lines are written up to 50 ms after they are logged.
      await eventually(
        "the log saying so",
        async () =>
          /"msg":"watching ClientIntents","version":"v2beta1"/.test(logs.join(""))
            ? true
            : undefined,
        5_000,
      );
      // And when the CRD goes again, it goes back to judging with nothing declared.
      t.is((await k("delete", "-f", crd, "--wait=true")).code, 0);
      await eventually(
        "the webhook noticing the CRD is gone",
        async () =>
          (await get(at, "/readyz")).body.startsWith("ok: no ClientIntents CRD") ? true : undefined,
        60_000,
      );
      t.is((await k("apply", "-f", crd)).code, 0);
    } finally {
      await stopWebhook(child);
    }
  },
);
