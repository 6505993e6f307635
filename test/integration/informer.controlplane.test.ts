import test from "ava";
import { dump } from "js-yaml";
import {
  AuthenticationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  Watch,
  type KubernetesObject,
} from "@kubernetes/client-node";
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openssl, type ControlPlane } from "../controlplane/controlplane.js";
import { kubectl, startCluster } from "../helpers/cluster.js";
import { watchResource, type ListPage } from "../../server/informer.js";
import { SharedConnectionsKubeConfig } from "../../kube/kubeconfig.js";

/**
 * The informer both servers read the cluster with, against the real API server: it lists in
 * pages, keeps no object, and a relist (an expired watch) replaces what it reported without a
 * moment where an object that still exists is missing.
 */

let cp: ControlPlane;
const NS = "informer";
const GROUP = "egress.otter.dev";
const PATH = `/apis/${GROUP}/v1alpha1/observedegresses`;

test.before(async () => {
  cp = await startCluster();
  await kubectl(cp.kubeconfig, ["create", "namespace", NS]);
});

test.after.always(async () => {
  await cp?.stop();
});

const observed = (name: string, label = "a") => ({
  apiVersion: `${GROUP}/v1alpha1`,
  kind: "ObservedEgress",
  metadata: { name, namespace: NS, labels: { v: label } },
  spec: { workload: { name, kind: "Deployment" } },
});

const apply = (objects: object[]) =>
  kubectl(cp.kubeconfig, ["apply", "-f", "-"], objects.map((o) => dump(o)).join("---\n"));

const until = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!ok()) throw new Error(`timed out: ${what}`);
};

test.serial(
  "a relist reports what changed while the watch was away, and nothing is missing meanwhile",
  async (t) => {
    await apply(Array.from({ length: 7 }, (_, i) => observed(`w-${i}`)));
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    const custom = kc.makeApiClient(CustomObjectsApi);
    // What a store holds: the label of each object, by name.
    const held = new Map<string, string>();
    const changes: string[] = [];
    const deletes: KubernetesObject[] = [];
    const pages: number[] = [];
    let gate: Promise<void> | undefined;
    const w = watchResource(kc, {
      name: "observedegresses",
      path: PATH,
      pageSize: 2,
      keepUid: true,
      list: async (page) => {
        await gate;
        const r = (await custom.listClusterCustomObject({
          group: GROUP,
          version: "v1alpha1",
          plural: "observedegresses",
          ...page,
        })) as ListPage;
        pages.push(r.items.length);
        return r;
      },
      onChange: (o) => {
        changes.push(o.metadata?.name ?? "");
        held.set(o.metadata?.name ?? "", o.metadata?.labels?.v ?? "");
      },
      onDelete: (o) => {
        deletes.push(o);
        held.delete(o.metadata?.name ?? "");
      },
      log: () => undefined,
    });
    try {
      await w.started;
      t.true(w.synced());
      t.deepEqual(pages, [2, 2, 2, 1], "7 objects listed 2 at a time");
      t.is(held.size, 7);

      // The watch follows changes.
      await apply([observed("w-0", "b")]);
      await until("w-0 updated", () => held.get("w-0") === "b");

      // The watch expires; its relist is held back while the cluster changes.
      let open!: () => void;
      gate = new Promise((r) => (open = r));
      changes.length = 0;
      pages.length = 0;
      const relisted = w.expire();
      const oldUid = JSON.parse(
        await kubectl(cp.kubeconfig, ["-n", NS, "get", "observedegress", "w-5", "-o", "json"]),
      ).metadata.uid as string;
      await kubectl(cp.kubeconfig, ["-n", NS, "delete", "observedegress", "w-1", "w-5"]);
      // w-5 comes back under its name: another object (a StatefulSet's pod, recreated).
      await apply([observed("w-2", "c"), observed("w-9"), observed("w-5")]);
      // Still what was last seen: nothing taken away while the relist waits.
      t.is(held.size, 7);
      t.is(held.get("w-1"), "a");
      open();
      await relisted;
      t.deepEqual(pages, [2, 2, 2, 1]);
      t.deepEqual([...held.keys()].sort(), ["w-0", "w-2", "w-3", "w-4", "w-5", "w-6", "w-9"]);
      t.is(held.get("w-2"), "c");
      // Only what changed is reported again; the object deleted meanwhile is reported with
      // its identity (uid included, which a pod's deletion is keyed by).
      t.deepEqual(changes.sort(), ["w-2", "w-5", "w-9"]);
      t.deepEqual(
        deletes.map((d) => d.metadata?.name),
        ["w-5", "w-1"],
        "the recreated one's old self first (as the list reaches it), the vanished one after the list",
      );
      t.is(deletes[1]?.metadata?.namespace, NS);
      t.regex(deletes[1]?.metadata?.uid ?? "", /^[0-9a-f-]{36}$/);
      t.is(deletes[0]?.metadata?.uid, oldUid);

      // And the watch resumes after the relist.
      await kubectl(cp.kubeconfig, ["-n", NS, "delete", "observedegress", "w-3"]);
      await until("w-3 deleted", () => !held.has("w-3"));
      t.is(deletes.length, 3);
    } finally {
      await w.stop();
    }
  },
);

test.serial(
  "a list the API server refuses is retried, and the informer is not synced",
  async (t) => {
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    const custom = kc.makeApiClient(CustomObjectsApi);
    let calls = 0;
    const logged: string[] = [];
    const w = watchResource(kc, {
      name: "observedegresses",
      path: PATH,
      list: async (page) => {
        calls++;
        // The first answer is an error, as when RBAC has not yet been granted.
        if (calls === 1) throw Object.assign(new Error("forbidden"), { code: 403 });
        return (await custom.listClusterCustomObject({
          group: GROUP,
          version: "v1alpha1",
          plural: "observedegresses",
          ...page,
        })) as ListPage;
      },
      onChange: () => undefined,
      onDelete: () => undefined,
      log: (e) => logged.push(String(e.msg)),
    });
    try {
      await w.started;
      t.false(w.synced());
      t.is(w.failures(), 1);
      t.deepEqual(logged, ["list failed"]);
      await until("listed again", () => w.synced());
      t.is(calls, 2);
    } finally {
      await w.stop();
    }
  },
);

/** Holds the event loop for `ms`, as a handler parsing a large object does. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** The longest the event loop went without running a 2 ms timer, from now until stopped. */
function loopHolds(): { stop: () => number } {
  let last = performance.now();
  let longest = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 2);
  return {
    // The hold just before it is stopped counts too: the late tick would run after.
    stop: () => {
      clearInterval(tick);
      return Math.max(longest, performance.now() - last);
    },
  };
}

test.serial(
  "a list and a relist let the event loop run while the handlers work through their objects",
  async (t) => {
    // 40 objects whose handlers take 8 ms each: 320 ms for the page, and for the relist that
    // finds them all gone. Reviews and probes must not wait for all of it.
    const ns = "informer-slow";
    await kubectl(cp.kubeconfig, ["create", "namespace", ns]);
    await apply(
      Array.from({ length: 40 }, (_, i) => ({
        ...observed(`s-${i}`),
        metadata: { name: `s-${i}`, namespace: ns },
      })),
    );
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    const custom = kc.makeApiClient(CustomObjectsApi);
    let changed = 0;
    let deleted = 0;
    let gate: Promise<void> | undefined;
    let holds = loopHolds();
    const w = watchResource(kc, {
      name: "observedegresses",
      path: `/apis/${GROUP}/v1alpha1/namespaces/${ns}/observedegresses`,
      pageSize: 40,
      list: async (page) => {
        await gate;
        return (await custom.listNamespacedCustomObject({
          group: GROUP,
          version: "v1alpha1",
          namespace: ns,
          plural: "observedegresses",
          ...page,
        })) as ListPage;
      },
      onChange: () => {
        changed++;
        busy(8);
      },
      onDelete: () => {
        deleted++;
        busy(8);
      },
      log: () => undefined,
    });
    try {
      await w.started;
      const listHeld = holds.stop();
      t.is(changed, 40);
      t.true(listHeld < 120, `the list held the event loop for ${listHeld.toFixed(0)} ms`);

      let open!: () => void;
      gate = new Promise((r) => (open = r));
      const relisted = w.expire();
      await kubectl(cp.kubeconfig, ["-n", ns, "delete", "observedegresses", "--all"]);
      // The watch may report some deletions itself; the relist reports the rest.
      holds = loopHolds();
      open();
      await relisted;
      const relistHeld = holds.stop();
      t.is(deleted, 40);
      t.true(relistHeld < 120, `the relist held the event loop for ${relistHeld.toFixed(0)} ms`);
    } finally {
      await w.stop();
      await kubectl(cp.kubeconfig, ["delete", "namespace", ns, "--wait=false"]);
    }
  },
);

/** This process's established TCP connections to `port` (from /proc: its sockets' inodes). */
function connectionsTo(port: number): number {
  const mine = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m?.[1]) mine.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  let n = 0;
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      const remote = parseInt(f[2]?.split(":")[1] ?? "", 16);
      if (remote === port && f[3] === "01" && mine.has(f[9] ?? "")) n++;
    }
  }
  return n;
}

test("API calls and watches share their connections to the API server", async (t) => {
  const kc = new SharedConnectionsKubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  const port = Number(new URL(cp.server).port);
  const before = connectionsTo(port);
  const api = kc.makeApiClient(CoreV1Api);
  for (let i = 0; i < 20; i++) await api.listNamespace();
  // Watches opened and ended, as an informer's are when they time out.
  const watch = new Watch(kc);
  for (let i = 0; i < 5; i++) {
    const c = await watch.watch(
      "/api/v1/namespaces",
      {},
      () => undefined,
      () => undefined,
    );
    c.abort();
  }
  await new Promise((r) => setTimeout(r, 300));
  const opened = connectionsTo(port) - before;
  t.true(opened <= 2, `${opened} connections to the API server after 20 requests and 5 watches`);
});

test.serial("a rotated client certificate is used from the next request on", async (t) => {
  // Two identities signed by the API server's client CA, written in turn to the files a
  // kubeconfig names (as a kubelet's rotated certificate is).
  const certs = join(cp.dir, "certs");
  const dir = mkdtempSync(join(tmpdir(), "otter-rotate-"));
  try {
    writeFileSync(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
    const issue = (user: string) => {
      openssl(
        dir,
        `req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ${user}.key -out ${user}.csr -subj /CN=${user}`,
      );
      openssl(
        dir,
        `x509 -req -in ${user}.csr -CA ${join(certs, "ca.crt")} -CAkey ${join(certs, "ca.key")} -CAcreateserial -out ${user}.crt -days 1 -extfile client.ext`,
      );
    };
    issue("alice");
    issue("bob");
    const use = (user: string) => {
      copyFileSync(join(dir, `${user}.crt`), join(dir, "client.crt"));
      copyFileSync(join(dir, `${user}.key`), join(dir, "client.key"));
    };
    use("alice");
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfig,
      dump({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "c",
            cluster: { server: cp.server, "certificate-authority": join(certs, "ca.crt") },
          },
        ],
        users: [
          {
            name: "u",
            user: {
              "client-certificate": join(dir, "client.crt"),
              "client-key": join(dir, "client.key"),
            },
          },
        ],
        contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
        "current-context": "x",
      }),
    );
    const kc = new SharedConnectionsKubeConfig();
    kc.loadFromFile(kubeconfig);
    const api = kc.makeApiClient(AuthenticationV1Api);
    const whoami = async () =>
      (
        await api.createSelfSubjectReview({
          body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
        })
      ).status?.userInfo?.username;
    t.is(await whoami(), "alice");
    t.is(await whoami(), "alice");
    use("bob");
    t.is(await whoami(), "bob", "the new certificate, not the first connection's");
    t.is(await whoami(), "bob");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
