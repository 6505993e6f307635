import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dump } from "js-yaml";
import { crdFiles } from "../test/controlplane/crds.js";
import { defaultBinDir, findRepoRoot, run } from "../test/controlplane/controlplane.js";
import { SEED_INTERNET, startNode } from "../test/controlplane/node.js";
import { clientWorkload, SEED_ROLLOUTS, seedApp } from "../test/helpers/seed-app.js";
import { median, percentile } from "./stats.js";
import { apiClient, must } from "./webhook-e2e.js";

/**
 * `npm run bench:cluster`: the product on the real test node, in one run (needs root, like the
 * node tests). The chart installed with the images built here, CoreDNS sending dnstap, the seed
 * app running; then:
 *  - what the webhook adds to p50 and p99 of 100 concurrent Deployment updates through its
 *    Service: rounds with the namespace gated (the API server calls the webhook) and not gated
 *    (it does not), alternated;
 *  - the delay from a pod's lookup to the ObservedEgress that shows it (p50, p99), at the
 *    chart's default flush interval;
 *  - each pod's peak memory (its containers' cgroup high-water mark) under the seed app's load.
 * BENCH_ROUNDS (default 4), BENCH_UPDATES (100) and BENCH_LOOKUPS (40) scale it.
 */

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const UPDATES = Number(process.env.BENCH_UPDATES ?? 100);
const LOOKUPS = Number(process.env.BENCH_LOOKUPS ?? 40);
const LOOKUP_NAMES = Array.from({ length: LOOKUPS }, (_, i) => `probe-${i}.lookup.test`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (l: string) => process.stderr.write(`bench:cluster: ${l}\n`);
const ms = (v: number) => `${v.toFixed(1)} ms`;

async function main(): Promise<void> {
  const root = findRepoRoot();
  const internet = { ...SEED_INTERNET };
  for (const n of LOOKUP_NAMES) internet[n] = ["52.94.15.82"];
  const node = await startNode({
    dir: mkdtempSync(join(tmpdir(), "otter-bench-node-")),
    crds: crdFiles(root),
    internet,
    log,
  });
  try {
    const bin = defaultBinDir();
    const k = (args: string[]) => run(join(bin, "kubectl"), args, 300_000);
    const kIn = (args: string[], input: string) => run(join(bin, "kubectl"), args, 300_000, input);
    const kc = ["--kubeconfig", node.kubeconfig];
    await run(
      join(bin, "helm"),
      [
        ...kc,
        "install",
        "otter-egress",
        join(root, "charts/otter-egress"),
        "-n",
        "otter-egress",
        "--create-namespace",
        "--wait",
        "--timeout",
        "4m",
      ],
      300_000,
    );
    const ip = (
      await k([
        ...kc,
        "-n",
        "otter-egress",
        "get",
        "service",
        "otter-egress-collector",
        "-o",
        "jsonpath={.spec.clusterIP}",
      ])
    ).trim();
    const cm = JSON.parse(
      await k([...kc, "-n", "kube-system", "get", "configmap", "coredns", "-o", "json"]),
    ) as Obj;
    const corefile = (cm.data.Corefile as string).replace(
      /^\.:53 \{\n/m,
      `.:53 {\n    dnstap tcp://${ip}:6000 full\n`,
    );
    await k([
      ...kc,
      "-n",
      "kube-system",
      "patch",
      "configmap",
      "coredns",
      "--type=merge",
      "-p",
      JSON.stringify({ data: { Corefile: corefile } }),
    ]);
    await kIn([...kc, "create", "namespace", "dev"], "");
    await kIn(
      [...kc, "apply", "-f", "-"],
      seedApp()
        .map((o) => dump(o))
        .join("---\n"),
    );
    for (const w of SEED_ROLLOUTS)
      await k([...kc, "-n", "dev", "rollout", "status", w, "--timeout=120s"]);
    // Wait for the dnstap session (the ObservedEgress of joke-worker appears).
    for (let i = 0; ; i++) {
      const r = await k([...kc, "-n", "dev", "get", "observedegresses", "-o", "name"]).catch(
        () => "",
      );
      if (r.includes("joke-worker")) break;
      if (i > 120) throw new Error("no ObservedEgress after 2 minutes: is dnstap connected?");
      await sleep(1000);
    }
    log("chart installed, dnstap connected, seed app observed");

    // --- webhook: 100 concurrent Deployment updates, gated and not, alternated
    const api = apiClient(node.server, node.token, UPDATES);
    await must(api, "POST", "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "bench" },
    });
    const base = "/apis/apps/v1/namespaces/bench/deployments";
    for (let i = 0; i < UPDATES; i++) {
      const d = clientWorkload("Deployment", `app-${i}`, ["listen", "8080"], "bench");
      d.spec.replicas = 0;
      await must(api, "POST", base, d);
    }
    const label = (gate: string | null) =>
      must(api, "PATCH", "/api/v1/namespaces/bench", {
        metadata: { labels: { "egress.otter.dev/gate": gate } },
      });
    let tick = 0;
    const round = async (): Promise<number[]> => {
      tick++;
      return Promise.all(
        Array.from({ length: UPDATES }, async (_, i) => {
          const t0 = performance.now();
          await must(api, "PATCH", `${base}/app-${i}`, {
            spec: { template: { metadata: { annotations: { tick: String(tick) } } } },
          });
          return performance.now() - t0;
        }),
      );
    };
    const samples: Record<"with" | "without", number[]> = { with: [], without: [] };
    await label("enforce");
    await sleep(2000);
    await round(); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of ["with", "without"] as const) {
        await label(mode === "with" ? "enforce" : null);
        await sleep(2000);
        samples[mode].push(...(await round()));
      }
    }
    api.close();
    const p = (xs: number[], q: number) =>
      percentile(
        [...xs].sort((a, b) => a - b),
        q,
      );

    // --- lookup -> ObservedEgress delay
    await kIn([...kc, "create", "namespace", "probe"], "");
    const prober = clientWorkload(
      "Deployment",
      "prober",
      ["call", "--stagger", "500ms", ...LOOKUP_NAMES.map((n) => `${n}:443`)],
      "probe",
    );
    await kIn([...kc, "apply", "-f", "-"], dump(prober));
    const seenAt = new Map<string, number>();
    const deadline = Date.now() + 180_000;
    while (seenAt.size < LOOKUPS && Date.now() < deadline) {
      const r = await k([
        ...kc,
        "-n",
        "probe",
        "get",
        "observedegresses",
        "prober",
        "-o",
        "json",
      ]).catch(() => "");
      const now = Date.now();
      if (r) {
        for (const d of ((JSON.parse(r) as Obj).status?.destinations ?? []) as Obj[]) {
          const n = d.internet?.dnsName as string | undefined;
          if (n && !seenAt.has(n)) seenAt.set(n, now);
        }
      }
      await sleep(250);
    }
    const logs = await k([...kc, "-n", "probe", "logs", "deployment/prober"]);
    const lookedUp = new Map<string, number>();
    for (const l of logs.split("\n").filter((x) => x.startsWith("{"))) {
      const o = JSON.parse(l) as { target: string; time: string };
      const n = o.target.slice(0, o.target.lastIndexOf(":"));
      if (!lookedUp.has(n)) lookedUp.set(n, Date.parse(o.time));
    }
    const delays = LOOKUP_NAMES.filter((n) => seenAt.has(n) && lookedUp.has(n)).map(
      (n) => (seenAt.get(n) as number) - (lookedUp.get(n) as number),
    );

    // --- peak memory of each pod (cgroup v1 high-water mark of its containers)
    const pods = JSON.parse(await k([...kc, "get", "pods", "-A", "-o", "json"])) as Obj;
    const memory: Array<[string, number]> = [];
    for (const pod of pods.items as Obj[]) {
      const dir = findPodCgroup(pod.metadata.uid as string);
      if (!dir) continue;
      let peak = 0;
      for (const c of (pod.status.containerStatuses ?? []) as Obj[]) {
        const id = String(c.containerID ?? "").replace(/^containerd:\/\//, "");
        try {
          peak += Number(readFileSync(join(dir, id, "memory.max_usage_in_bytes"), "utf8"));
        } catch {
          // not running
        }
      }
      memory.push([`${pod.metadata.namespace as string}/${pod.metadata.name as string}`, peak]);
    }

    const out = (l: string) => process.stdout.write(`${l}\n`);
    out(
      `bench:cluster on the test node (${ROUNDS} rounds of ${UPDATES} concurrent Deployment updates each way)`,
    );
    out("");
    out("| 100 concurrent Deployment updates | p50 | p99 |");
    out("|---|---|---|");
    out(
      `| webhook not called (namespace not gated) | ${ms(p(samples.without, 0.5))} | ${ms(p(samples.without, 0.99))} |`,
    );
    out(
      `| webhook called, through its Service | ${ms(p(samples.with, 0.5))} | ${ms(p(samples.with, 0.99))} |`,
    );
    out(
      `| what the webhook adds | ${ms(p(samples.with, 0.5) - p(samples.without, 0.5))} | ${ms(p(samples.with, 0.99) - p(samples.without, 0.99))} |`,
    );
    out("");
    out(
      `lookup -> ObservedEgress (${delays.length} of ${LOOKUPS} lookups seen; flush interval 10s, polled every 250 ms):`,
    );
    out(
      `  p50 ${(
        percentile(
          [...delays].sort((a, b) => a - b),
          0.5,
        ) / 1000
      ).toFixed(1)} s, p99 ${(
        percentile(
          [...delays].sort((a, b) => a - b),
          0.99,
        ) / 1000
      ).toFixed(1)} s, median ${(median(delays) / 1000).toFixed(1)} s`,
    );
    out("");
    out("| pod | peak memory |");
    out("|---|---|");
    for (const [name, bytes] of memory.sort())
      out(`| ${name} | ${(bytes / 2 ** 20).toFixed(1)} MiB |`);
  } finally {
    await node.stop();
  }
}

/** The pod's cgroup directory in the memory hierarchy (kubelet's cgroupfs layout). */
function findPodCgroup(uid: string): string | undefined {
  const root = "/sys/fs/cgroup/memory/kubepods";
  const want = `pod${uid}`;
  for (const dir of [root, join(root, "burstable"), join(root, "besteffort")]) {
    try {
      if (readdirSync(dir).includes(want)) return join(dir, want);
    } catch {
      // no such QoS class
    }
  }
  return undefined;
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:cluster failed: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exitCode = 1;
});
