import { mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import test from "ava";
import { dump } from "js-yaml";
import { defaultBinDir, request } from "../controlplane/controlplane.js";
import type { NodeCluster } from "../controlplane/node.js";
import { SEED_INTERNET } from "../controlplane/node.js";
import { exec, KUBECTL, type Result } from "../helpers/cluster.js";
import { eventually, holdNodeForFile, startTestNode } from "../helpers/node.js";
import { clientWorkload, SEED_NAMES, SEED_ROLLOUTS, seedApp } from "../helpers/seed-app.js";

/**
 * The user's journey on a real node (needs what test/integration/node.node.test.ts needs): the chart installed
 * as users install it, with the images built here; CoreDNS as a pod sending dnstap; the seed
 * app's lookups becoming ObservedEgress; the plugin run from the host through kubectl; the
 * webhook pod gating deploys through its Service; and the faults a cluster meets.
 */

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const HELM = join(defaultBinDir(), "helm");
const NS = "otter-egress";
const COLLECTOR = "otter-egress-collector";
const WEBHOOK = "otter-egress-webhook";

let node: NodeCluster | undefined;
let release: (() => void) | undefined;
let env: NodeJS.ProcessEnv;

test.before(async (t) => {
  t.timeout(900_000);
  // One node per machine: this waits while test/integration/node.node.test.ts has it.
  release = await holdNodeForFile();
  node = await startTestNode({ timeoutMs: 900_000 });
  // kubectl finds the plugin on PATH, as krew installs it.
  const bin = mkdtempSync(join(tmpdir(), "otter-plugin-"));
  symlinkSync(resolve("bin", "kubectl-otter.js"), join(bin, "kubectl-otter"));
  env = {
    KUBECONFIG: node.kubeconfig,
    PATH: `${bin}:${defaultBinDir()}:${process.env["PATH"] ?? ""}`,
  };
});

test.after.always(async () => {
  await node?.stop();
  release?.();
});

const k = (args: string[], stdin?: string): Promise<Result> => exec(KUBECTL, args, env, stdin);
const helm = (args: string[]): Promise<Result> => exec(HELM, args, env);

async function ok(r: Promise<Result>): Promise<string> {
  const done = await r;
  if (done.code !== 0) throw new Error(`exit ${done.code}: ${done.stderr}${done.stdout}`);
  return done.stdout;
}

async function json(args: string[]): Promise<Obj> {
  return JSON.parse(await ok(k([...args, "-o", "json"]))) as Obj;
}

const apply = (objects: Obj[]): Promise<string> =>
  ok(k(["apply", "-f", "-"], objects.map((o) => dump(o)).join("---\n")));

const INTERNET = SEED_NAMES;
const workload = clientWorkload;

/** The README's "Try it on kind" commands: its helm install line, and the Corefile edit. */
function kindSteps(): { helm: string; corefile: string } {
  const guide = readFileSync("README.md", "utf8");
  const block = /## Try it on kind\n\n```sh\n([\s\S]*?)```/.exec(guide)?.[1] ?? "";
  const lines = block.split("\n");
  const helmLine = lines.find((l) => l.startsWith("helm install")) ?? "";
  const from = lines.findIndex((l) => l.startsWith("ip=$("));
  const to = lines.findIndex((l) => l.includes("kubectl replace -f -"));
  if (!helmLine || from < 0 || to < from) throw new Error("README.md: no Try it on kind steps");
  return { helm: helmLine, corefile: lines.slice(from, to + 1).join("\n") };
}

async function podsOf(namespace: string, selector: string): Promise<Obj[]> {
  return ((await json(["-n", namespace, "get", "pods", "-l", selector])).items ?? []) as Obj[];
}

const ready = (p: Obj): boolean =>
  !p.metadata.deletionTimestamp &&
  (p.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True");

async function collectorLogs(): Promise<string> {
  const pods = await podsOf(NS, "app.kubernetes.io/component=collector");
  const logs = await Promise.all(
    pods.map((p) => k(["-n", NS, "logs", p.metadata.name]).then((r) => r.stdout)),
  );
  return logs.join("\n");
}

function destinations(oe: Obj): Obj[] {
  return (oe.status?.destinations ?? []) as Obj[];
}

test.serial(
  "helm install: the collector and the webhook run under restricted Pod Security, with their own ServiceAccounts",
  async (t) => {
    t.timeout(300_000);
    await apply([
      {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: {
          name: NS,
          labels: {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
          },
        },
      },
    ]);
    // The chart guide's command, as a user types it.
    const helmLine = kindSteps().helm.split(/\s+/).slice(1);
    t.deepEqual(helmLine.slice(0, 6), [
      "install",
      "otter-egress",
      "charts/otter-egress",
      "-n",
      NS,
      "--create-namespace",
    ]);
    const install = await helm([...helmLine, "--timeout", "4m"]);
    t.is(install.code, 0, install.stderr);
    t.notRegex(install.stderr, /violate PodSecurity/);
    const pods = await podsOf(NS, "app.kubernetes.io/name=otter-egress");
    const byComponent = (c: string) =>
      pods.filter((p) => p.metadata.labels["app.kubernetes.io/component"] === c);
    t.is(byComponent("collector").length, 1);
    t.is(byComponent("webhook").length, 2);
    for (const p of pods) {
      t.true(ready(p), `${p.metadata.name} Ready`);
      const c = p.spec.containers[0];
      t.regex(
        c.image,
        /^ghcr\.io\/otter-egress\/(collector|webhook):0\.1\.0$/,
        "the chart's default image",
      );
      t.is(
        p.spec.serviceAccountName,
        p.metadata.labels["app.kubernetes.io/component"] === "collector" ? COLLECTOR : WEBHOOK,
      );
    }
    // Neither ServiceAccount can act as an admin.
    for (const sa of [COLLECTOR, WEBHOOK]) {
      const as = `--as=system:serviceaccount:${NS}:${sa}`;
      for (const verb of [
        ["create", "clusterrolebindings"],
        ["get", "secrets", "-n", "kube-system"],
        ["*", "*"],
      ]) {
        const r = await k(["auth", "can-i", as, ...verb]);
        t.is(r.stdout.trim(), "no", `${sa} can-i ${verb.join(" ")}`);
      }
    }
  },
);

test.serial(
  "CoreDNS gets the dnstap line NOTES.txt prints, reloads, and the collector hears it",
  async (t) => {
    t.timeout(180_000);
    const notes = await ok(helm(["get", "notes", "otter-egress", "-n", NS]));
    const ip = (
      await ok(k(["-n", NS, "get", "service", COLLECTOR, "-o", "jsonpath={.spec.clusterIP}"]))
    ).trim();
    const line = /dnstap tcp:\/\/<that ClusterIP>:(\d+) full/.exec(notes);
    t.truthy(line, notes);
    // The chart guide's lines that add it, run as they are written.
    const steps = kindSteps().corefile;
    t.true(steps.includes(`dnstap tcp://$ip:${line?.[1] ?? ""} full`), steps);
    const cwd = mkdtempSync(join(tmpdir(), "otter-readme-"));
    const ran = await exec("bash", ["-euo", "pipefail", "-c", `cd ${cwd}\n${steps}`], env);
    t.is(ran.code, 0, ran.stderr);
    const cm = await json(["-n", "kube-system", "get", "configmap", "coredns"]);
    // The ConfigMap's other keys (here the test zone; on k3s NodeHosts) are kept.
    t.truthy(cm.data["internet.hosts"], "the other keys of the ConfigMap are kept");
    t.regex(
      cm.data.Corefile as string,
      new RegExp(`^\\.:53 \\{\\n    dnstap tcp://${ip.replace(/\./g, "\\.")}:6000 full\\n`),
    );
    const [coredns] = await podsOf("kube-system", "k8s-app=kube-dns");
    const logs = await eventually(
      "the collector's dnstap session from CoreDNS",
      async () => {
        const l = await collectorLogs();
        return l.includes(`"peer":"${coredns?.status.podIP as string}:`) ? l : undefined;
      },
      150_000,
      2000,
    );
    t.regex(logs, /dnstap connected/);
  },
);

test.serial(
  "the seed app's lookups become ObservedEgress, and the plugin on the host reads them",
  async (t) => {
    t.timeout(300_000);
    await ok(k(["create", "namespace", "dev"]));
    await apply(seedApp());
    for (const w of SEED_ROLLOUTS) {
      await ok(k(["-n", "dev", "rollout", "status", w, "--timeout=120s"]));
    }
    const worker = await eventually(
      "joke-worker's ObservedEgress with every name",
      async () => {
        const oe = await json(["-n", "dev", "get", "observedegresses", "joke-worker"]);
        // A Service asked for before its pods are known is named as itself at first, and as
        // its workload (with the kind) once they are: wait for that.
        const names = destinations(oe).map(
          (d) => d.internet?.dnsName ?? (d.kubernetes?.kind ? d.kubernetes.name : undefined),
        );
        return [...INTERNET, "nats", "redis"].every((n) => names.includes(n)) ? oe : undefined;
      },
      120_000,
      2000,
    );
    t.deepEqual(worker.spec.workload, { name: "joke-worker", kind: "Deployment" });
    for (const name of INTERNET) {
      const d = destinations(worker).find((x) => x.internet?.dnsName === name);
      t.deepEqual(
        [...(d?.internet.ips ?? [])].sort(),
        [...(SEED_INTERNET[name] ?? [])].sort(),
        name,
      );
    }
    t.is(destinations(worker).filter((x) => x.kubernetes?.service === "nats").length, 1);
    const nats = destinations(worker).find((x) => x.kubernetes?.name === "nats")?.kubernetes;
    t.like(nats, { name: "nats", namespace: "dev", kind: "StatefulSet", service: "nats" });
    const redis = destinations(worker).find((x) => x.kubernetes?.name === "redis")?.kubernetes;
    t.like(redis, { name: "redis", namespace: "dev", kind: "Deployment", service: "redis" });
    const server = await eventually("joke-server's ObservedEgress", async () => {
      const oe = await json(["-n", "dev", "get", "observedegresses", "joke-server"]);
      return destinations(oe).some((d) => d.kubernetes?.name === "nats") ? oe : undefined;
    });
    t.is(destinations(server).length, 1, JSON.stringify(destinations(server)));

    // The plugin, from the host, through kubectl.
    const list = await k(["otter", "egress", "list", "-n", "dev"]);
    t.is(list.code, 0, list.stderr);
    for (const n of [...INTERNET, "nats"])
      t.true(list.stdout.includes(n), `${n} in list:\n${list.stdout}`);
    const diff = await k(["otter", "egress", "diff", "-n", "dev", "-o", "json"]);
    t.is(diff.code, 1, diff.stderr);
    const missing = (JSON.parse(diff.stdout) as Obj).summary.missing as number;
    t.true(missing >= INTERNET.length + 2, diff.stdout);

    // suggest | kubectl apply: the ClientIntents CRD accepts it, and the drift is gone.
    const suggested = await k(["otter", "egress", "suggest", "-n", "dev"]);
    t.is(suggested.code, 0, suggested.stderr);
    const applied = await k(["apply", "-f", "-"], suggested.stdout);
    t.is(applied.code, 0, applied.stderr);
    const clean = await k(["otter", "egress", "diff", "-n", "dev"]);
    t.is(clean.code, 0, clean.stdout + clean.stderr);
  },
);

/** joke-worker's ClientIntents, with or without sts. */
function workerIntents(withSts: boolean): Obj {
  return {
    apiVersion: "k8s.otterize.com/v2beta1",
    kind: "ClientIntents",
    metadata: { name: "joke-worker", namespace: "dev" },
    spec: {
      workload: { name: "joke-worker", kind: "Deployment" },
      targets: [
        { internet: { domains: INTERNET.filter((n) => withSts || !n.startsWith("sts.")) } },
        { kubernetes: { name: "nats", kind: "StatefulSet" } },
        { kubernetes: { name: "redis", kind: "Deployment" } },
      ],
    },
  };
}

const touch = (name: string, value: string): Promise<Result> =>
  k(["-n", "dev", "set", "env", `deployment/${name}`, `TOUCHED=${value}`]);

test.serial(
  "the webhook pod denies a deploy whose intents omit observed egress, through its Service",
  async (t) => {
    t.timeout(180_000);
    // The intents in the cluster lose sts (replacing what suggest applied), then dev is gated.
    await ok(k(["-n", "dev", "delete", "clientintents", "--all"]));
    await apply([workerIntents(false)]);
    await ok(k(["label", "namespace", "dev", "egress.otter.dev/gate=enforce"]));

    // The pod patched its own caBundle: the API server trusts the Secret's CA.
    const secret = await json(["-n", NS, "get", "secret", `${WEBHOOK}-tls`]);
    const config = await json(["get", "validatingwebhookconfiguration", WEBHOOK]);
    for (const hook of config.webhooks as Obj[]) {
      t.is(hook.clientConfig.caBundle, secret.data["ca.crt"], hook.name);
    }

    const denied = await eventually(
      "the denial",
      async () => {
        const r = await touch("joke-worker", "1");
        return r.code !== 0 ? r : undefined;
      },
      30_000,
      1000,
    );
    t.regex(denied.stderr, /denied the request/);
    t.regex(denied.stderr, /sts\.eu-west-2\.amazonaws\.com/);
    t.notRegex(denied.stderr, /api\.openai\.com/, "only what is missing is named");

    await apply([workerIntents(true)]);
    const passed = await touch("joke-worker", "2");
    t.is(passed.code, 0, passed.stderr);

    // Stale again: a scale, and a delete whose foreground finalizer the garbage collector
    // takes off (an UPDATE), go through; neither may hang on the gate.
    const stale = workerIntents(false);
    stale.metadata.annotations = { "egress.otter.dev/skip": "stale on purpose" };
    await apply([stale]);
    const scaled = await k(["-n", "dev", "scale", "deployment", "joke-worker", "--replicas=2"]);
    t.is(scaled.code, 0, scaled.stderr);
    const del = await k([
      "-n",
      "dev",
      "delete",
      "deployment",
      "joke-worker",
      "--cascade=foreground",
      "--timeout=90s",
    ]);
    t.is(del.code, 0, del.stderr);
    t.is((await k(["-n", "dev", "get", "deployment", "joke-worker"])).code, 1, "gone");
    await apply([workerIntents(true)]);
  },
);

test.serial(
  "helm test sends a review through the webhook's Service, over TLS it checks",
  async (t) => {
    t.timeout(180_000);
    const r = await helm(["test", "otter-egress", "-n", NS, "--logs", "--timeout", "150s"]);
    t.is(r.code, 0, r.stderr + r.stdout);
    t.regex(r.stdout, /ok: the webhook answered a review through its Service/);
  },
);

test.serial(
  "fault: the collector pod is deleted during writes; the new one carries on and nothing is lost",
  async (t) => {
    t.timeout(240_000);
    const before = await json(["-n", "dev", "get", "observedegresses"]);
    const [old] = await podsOf(NS, "app.kubernetes.io/component=collector");
    await ok(k(["-n", NS, "delete", "pod", old?.metadata.name as string, "--wait=false"]));
    await eventually(
      "a new collector pod, Ready",
      async () => {
        const pods = await podsOf(NS, "app.kubernetes.io/component=collector");
        return pods.some((p) => p.metadata.name !== old?.metadata.name && ready(p))
          ? true
          : undefined;
      },
      120_000,
      1000,
    );
    // Everything written before is still there.
    const after = await json(["-n", "dev", "get", "observedegresses"]);
    for (const oe of before.items as Obj[]) {
      const now = (after.items as Obj[]).find((o) => o.metadata.name === oe.metadata.name);
      const key = (d: Obj) =>
        JSON.stringify(d.internet?.dnsName ?? d.kubernetes?.name ?? d.internet?.ips);
      t.deepEqual(
        destinations(now ?? {})
          .map(key)
          .sort(),
        destinations(oe).map(key).sort(),
        oe.metadata.name,
      );
    }
    // And the new pod observes: a workload that starts now is seen.
    await ok(k(["create", "namespace", "dev2"]));
    const late = workload("Deployment", "late-caller", [
      "call",
      "--every",
      "3s",
      `${INTERNET[0] ?? ""}:443`,
    ]);
    late.metadata.namespace = "dev2";
    await apply([late]);
    await eventually(
      "late-caller's ObservedEgress",
      async () => {
        const oe = await json(["-n", "dev2", "get", "observedegresses", "late-caller"]);
        return destinations(oe).length > 0 ? oe : undefined;
      },
      120_000,
      2000,
    );
    t.pass();
  },
);

test.serial("fault: CoreDNS is restarted; dnstap reconnects and observation resumes", async (t) => {
  t.timeout(240_000);
  await ok(k(["-n", "kube-system", "rollout", "restart", "deployment/coredns"]));
  await ok(k(["-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=120s"]));
  const [coredns] = await podsOf("kube-system", "k8s-app=kube-dns");
  await eventually(
    "the new CoreDNS pod's session",
    async () => {
      const l = await collectorLogs();
      return l.includes(`"peer":"${coredns?.status.podIP as string}:`) ? true : undefined;
    },
    120_000,
    2000,
  );
  const name = INTERNET[1] ?? "";
  const after = workload("Deployment", "after-restart", ["call", "--every", "3s", `${name}:443`]);
  after.metadata.namespace = "dev2";
  await apply([after]);
  const oe = await eventually(
    "after-restart's ObservedEgress",
    async () => {
      const o = await json(["-n", "dev2", "get", "observedegresses", "after-restart"]);
      return destinations(o).some((d) => d.internet?.dnsName === name) ? o : undefined;
    },
    120_000,
    2000,
  );
  t.truthy(oe);
});

test.serial("an ExternalName Service is the external name it points to", async (t) => {
  t.timeout(180_000);
  await apply([
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "openai", namespace: "dev2" },
      spec: { type: "ExternalName", externalName: "api.openai.com" },
    },
  ]);
  const caller = workload("Deployment", "ext-caller", ["call", "--every", "3s", "openai:443"]);
  caller.metadata.namespace = "dev2";
  await apply([caller]);
  const oe = await eventually(
    "ext-caller's ObservedEgress",
    async () => {
      const o = await json(["-n", "dev2", "get", "observedegresses", "ext-caller"]);
      return destinations(o).length > 0 ? o : undefined;
    },
    120_000,
    2000,
  );
  t.deepEqual(
    destinations(oe).map((d) => d.internet?.dnsName ?? d.kubernetes?.name),
    ["api.openai.com"],
    "the external name, not a kubernetes target with no workload behind it",
  );
});

test.serial(
  "coverage on the node: CoreDNS's pod is heard by its address, so the Lease is fresh; pods with dnsPolicy Default say why they cannot be judged",
  async (t) => {
    t.timeout(180_000);
    // The collector names the CoreDNS pod behind kube-dns as heard, and renews its Lease.
    const lease = await eventually(
      "a fresh Lease",
      async () => {
        const l = await json(["-n", NS, "get", "lease", "otter-egress-collector"]);
        return Date.now() - Date.parse(l.spec.renewTime as string) < 60_000 ? l : undefined;
      },
      120_000,
      2000,
    );
    t.truthy(lease);
    t.regex(await collectorLogs(), /"msg":"hearing every DNS server","servers":1/);
    // A workload whose pods ask the node's resolver, with intents in the cluster.
    const bypass = workload("Deployment", "bypass", [
      "call",
      "--every",
      "5s",
      "api.openai.com:443",
    ]);
    bypass.metadata.namespace = "dev2";
    bypass.spec.template.spec.dnsPolicy = "Default";
    await apply([
      bypass,
      {
        apiVersion: "k8s.otterize.com/v2beta1",
        kind: "ClientIntents",
        metadata: { name: "bypass", namespace: "dev2" },
        spec: {
          workload: { name: "bypass", kind: "Deployment" },
          targets: [{ internet: { domains: ["api.openai.com"] } }],
        },
      },
    ]);
    const oe = await eventually(
      "bypass's coverage",
      async () => {
        const o = await json(["-n", "dev2", "get", "observedegresses", "bypass"]);
        return o.status?.coverage?.state === "none" ? o : undefined;
      },
      120_000,
      2000,
    );
    const { since, ...coverage } = oe.status.coverage;
    t.deepEqual(coverage, { state: "none", reason: "pods use dnsPolicy Default" });
    t.false(Number.isNaN(Date.parse(String(since))), "when the state began");
    const r = await k(["otter", "egress", "diff", "-n", "dev2", "--fail-on", "none", "-o", "wide"]);
    t.is(r.code, 0, r.stderr);
    t.regex(
      r.stdout,
      /unverified +api\.openai\.com .*pods use dnsPolicy Default: egress cannot be observed/,
    );
  },
);

test.serial(
  "fault: a webhook pod is deleted while Deployments are applied; every apply is answered",
  async (t) => {
    t.timeout(180_000);
    const failures: string[] = [];
    let applies = 0;
    const looper = workload("Deployment", "looper", ["listen", "8080"]);
    const until = Date.now() + 30_000;
    // Beside kubectl's applies, dry-run creates straight to the API server, a few at a time:
    // its pool of connections to the webhook then holds several, some idle, as a busy cluster's
    // does, and one may be taken just as the deleted pod stops (a review written on a
    // connection being ended fails: "write: broken pipe", "EOF").
    let dryRuns = 0;
    const burst = async (lane: number) => {
      const cluster = node as NodeCluster;
      for (let i = 0; Date.now() < until; i++) {
        const object = workload("Deployment", `burst-${lane}-${i}`, ["listen", "8080"]);
        const r = await request(
          `${cluster.server}/apis/apps/v1/namespaces/dev/deployments?dryRun=All`,
          { token: cluster.token, method: "POST", body: JSON.stringify(object) },
        ).catch((e: Error) => ({ status: 0, body: e.message }));
        dryRuns++;
        if (r.status >= 500 || r.status === 0 || /failed calling webhook/.test(r.body))
          failures.push(`dry run: ${r.status} ${r.body}`);
      }
    };
    const lanes = Promise.all([0, 1, 2].map(burst));
    let deleted = false;
    while (Date.now() < until) {
      looper.spec.template.metadata.annotations = { tick: String(applies) };
      const r = await k(["apply", "-f", "-"], dump(looper));
      applies++;
      if (r.code !== 0) failures.push(r.stderr.trim());
      if (!deleted && applies === 5) {
        const [victim] = await podsOf(NS, "app.kubernetes.io/component=webhook");
        await ok(k(["-n", NS, "delete", "pod", victim?.metadata.name as string, "--wait=false"]));
        deleted = true;
      }
    }
    await lanes;
    t.true(applies > 20, `${applies} applies`);
    t.true(dryRuns > 300, `${dryRuns} dry-run creates`);
    t.deepEqual(failures, []);
  },
);

test.serial(
  "fault: the webhook's TLS Secret is deleted; reviews work again within a minute, without a restart",
  async (t) => {
    t.timeout(180_000);
    const restarts = async () =>
      (await podsOf(NS, "app.kubernetes.io/component=webhook")).map(
        (p) =>
          `${p.metadata.name as string}:${String(p.status.containerStatuses?.[0]?.restartCount)}`,
      );
    const before = await restarts();
    const oldCa = (await json(["-n", NS, "get", "secret", `${WEBHOOK}-tls`])).data["ca.crt"];
    await ok(k(["-n", NS, "delete", "secret", `${WEBHOOK}-tls`]));
    const deletedAt = Date.now();
    // Each replica looks at the Secret every 30 s: the first to look makes it again, with a
    // new CA, and both serve a certificate from it after their next look.
    const made = await eventually(
      "the Secret made again",
      async () => {
        const r = await k(["-n", NS, "get", "secret", `${WEBHOOK}-tls`, "-o", "json"]);
        return r.code === 0 ? (JSON.parse(r.stdout) as Obj) : undefined;
      },
      60_000,
      1000,
    );
    t.not(made.data["ca.crt"], oldCa, "a new CA");
    await new Promise((r) => setTimeout(r, Math.max(0, deletedAt + 40_000 - Date.now())));
    // Within a minute of the deletion, every review is answered (joke-server drifts: its
    // intents were replaced above, so an answered review denies it), through either replica.
    for (let i = 0; i < 8; i++) {
      const r = await touch("joke-server", `tls-${i}`);
      t.regex(r.stderr, /denied the request.*nats/s, r.stderr);
    }
    t.true(Date.now() - deletedAt < 60_000, `${Date.now() - deletedAt} ms`);
    const config = await json(["get", "validatingwebhookconfiguration", WEBHOOK]);
    for (const hook of config.webhooks as Obj[]) {
      t.is(
        hook.clientConfig.caBundle,
        made.data["ca.crt"],
        `${hook.name as string} trusts the new CA`,
      );
    }
    t.deepEqual(await restarts(), before, "no pod restarted");
  },
);

test.serial(
  "helm upgrade with changed values keeps every ObservedEgress and keeps serving",
  async (t) => {
    t.timeout(300_000);
    const before = await json(["get", "observedegresses", "-A"]);
    const up = await helm([
      "upgrade",
      "otter-egress",
      "charts/otter-egress",
      "-n",
      NS,
      "--set",
      "collector.flushInterval=5s,webhook.window=72h",
      "--wait",
      "--timeout",
      "4m",
    ]);
    t.is(up.code, 0, up.stderr);
    const after = await json(["get", "observedegresses", "-A"]);
    const names = (l: Obj) =>
      (l.items as Obj[]).map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();
    t.deepEqual(names(after), names(before));
    // Still gating: joke-server's intents (from suggest) were deleted above, so it drifts.
    const r = await touch("joke-server", "3");
    t.not(r.code, 0);
    t.regex(r.stderr, /denied the request.*nats/s);
  },
);

test.serial(
  "helm uninstall leaves no webhook configuration, and nothing is blocked afterwards",
  async (t) => {
    t.timeout(180_000);
    const un = await helm(["uninstall", "otter-egress", "-n", NS, "--wait"]);
    t.is(un.code, 0, un.stderr);
    const configs = await json(["get", "validatingwebhookconfigurations"]);
    t.deepEqual(
      (configs.items as Obj[]).map((c) => c.metadata.name),
      [],
    );
    const r = await touch("joke-server", "4");
    t.is(r.code, 0, r.stderr);
  },
);

test.serial("nothing the seed app did left the machine", async (t) => {
  t.is(await node!.uplinkLeaks(), 0);
});
