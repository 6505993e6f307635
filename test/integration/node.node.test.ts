import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import type { NodeCluster } from "../controlplane/node.js";
import { NODE, SEED_INTERNET } from "../controlplane/node.js";
import { findRepoRoot } from "../controlplane/controlplane.js";
import { crdFiles, kubectl } from "../helpers/cluster.js";
import { hostState, type HostState } from "../helpers/host-state.js";
import { clientLines, eventually, holdNodeForFile, startTestNode } from "../helpers/node.js";

/**
 * The test node itself (needs root, containerd, runc, the CNI plugins and the binaries of
 * scripts/controlplane-build.sh): pods run from images built here, resolve through CoreDNS as
 * on any cluster, nothing leaves the machine, and the host is as it was once the node stops,
 * even when the process that started it was killed.
 */

let node: NodeCluster | undefined;
let release: (() => void) | undefined;
let before: HostState;

test.serial.before(async (t) => {
  t.timeout(900_000);
  // One node per machine: this waits while test/integration/node-journey.node.test.ts has it.
  release = await holdNodeForFile();
  node = await startTestNode({
    timeoutMs: 900_000,
    onAcquired: () => {
      before = hostState();
    },
  });
});

test.after.always(async () => {
  await node?.stop();
  release?.();
});

const CLIENT = "otter-egress.test/client:0.1.0";

function clientPod(name: string, args: string[]): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      restartPolicy: "Never",
      containers: [{ name: "client", image: CLIENT, imagePullPolicy: "Never", args }],
    },
  };
}

test.serial(
  "a pod resolves through CoreDNS with the search path, and reaches Services",
  async (t) => {
    const kc = node!.kubeconfig;
    const seed = Object.keys(SEED_INTERNET);
    await kubectl(
      kc,
      ["apply", "-f", "-"],
      JSON.stringify(
        clientPod("resolver", [
          "call",
          "kubernetes:443", // the default namespace's Service, by its short name
          "kube-dns.kube-system:53",
          ...seed.map((n) => `${n}:443`),
          "unknown.example:80",
        ]),
      ),
    );
    const lines = await eventually("the client's results", async () => {
      const l = await clientLines(kc, "default", "resolver").catch(() => []);
      return l.length >= seed.length + 3 ? l : undefined;
    });
    const by = Object.fromEntries(lines.map((l) => [l["target"] as string, l]));
    t.deepEqual(by["kubernetes:443"]?.["addresses"], [NODE.apiServiceIp], JSON.stringify(lines));
    t.true(by["kubernetes:443"]?.["connected"], "the API server through its Service");
    t.deepEqual(by["kube-dns.kube-system:53"]?.["addresses"], [NODE.dnsIp]);
    for (const n of seed) {
      t.deepEqual(
        [...((by[`${n}:443`]?.["addresses"] as string[]) ?? [])].sort(),
        [...(SEED_INTERNET[n] ?? [])].sort(),
        n,
      );
      // The address is local to the node's namespace: refused here, never sent out.
      t.is(by[`${n}:443`]?.["error"], "ECONNREFUSED", n);
    }
    // No forward plugin: a name outside the test zone has no answer.
    t.deepEqual(by["unknown.example:80"]?.["addresses"], []);
  },
);

test.serial("no packet from the pod or Service ranges leaves through the uplink", async (t) => {
  const kc = node!.kubeconfig;
  // The host side of the uplink is the only address outside the namespace with a route.
  await kubectl(
    kc,
    ["apply", "-f", "-"],
    JSON.stringify(clientPod("escaper", ["call", `${NODE.hostIp}:22`, "198.51.100.7:443"])),
  );
  const lines = await eventually("the escaper's results", async () => {
    const l = await clientLines(kc, "default", "escaper").catch(() => []);
    return l.length >= 2 ? l : undefined;
  });
  t.true(
    lines.every((l) => l["connected"] === false),
    JSON.stringify(lines),
  );
  // The attempt towards the host was dropped (and counted) at the uplink; nothing else tried.
  const dropped = await node!.uplinkLeaks();
  t.true(dropped > 0, "the counter sees a pod's packet towards the uplink");
  const unreachable = lines.find((l) => l["target"] === "198.51.100.7:443");
  t.regex(String(unreachable?.["error"]), /ENETUNREACH|EHOSTUNREACH|timeout/);
});

test.serial("stopping the node leaves the host as it was", async (t) => {
  t.timeout(120_000);
  await node!.stop();
  node = undefined;
  t.deepEqual(hostState(), before);
});

test.serial("a killed test's node is taken down by its watchdog", async (t) => {
  t.timeout(300_000);
  const start = hostState();
  const dir = mkdtempSync(join(tmpdir(), "otter-node-killed-"));
  const script = `
    import { startNode } from ${JSON.stringify(join(findRepoRoot(), "dist/test/controlplane/node.js"))};
    await startNode({ dir: ${JSON.stringify(dir)}, crds: ${JSON.stringify(crdFiles())} });
    process.stdout.write("up\\n");
    setInterval(() => {}, 1 << 30);`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => d.toString().includes("up") && resolve());
      child.on("exit", (code) => reject(new Error(`the node's process exited ${String(code)}`)));
    });
    t.true(hostState().links.includes(NODE.hostLink), "the node was up");
  } finally {
    child.kill("SIGKILL");
  }
  const after = await eventually(
    "the watchdog's teardown",
    async () => {
      const s = hostState();
      return existsSync("/run/otter-egress-node") ? undefined : s;
    },
    60_000,
  );
  t.deepEqual(after, start);
});
