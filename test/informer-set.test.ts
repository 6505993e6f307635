import test from "ava";
import { KubeConfig } from "@kubernetes/client-node";
import { InformerSet, type Watched } from "../server/informer.js";

/**
 * Readiness of the webhook's caches and of the collector follows from the watches they
 * started, not from a count written beside them: a watch added is waited for, and the set is
 * not ready before the component has started every watch it needs.
 */

/** A watch whose list the test completes by hand. */
function fakeWatches() {
  const listed = new Map<string, boolean>();
  const set = new InformerSet(
    new KubeConfig(),
    () => undefined,
    (opts): Watched => {
      listed.set(opts.name, false);
      return {
        started: Promise.resolve(),
        synced: () => listed.get(opts.name) === true,
        failures: () => 0,
        expire: () => Promise.resolve(),
        stop: () => Promise.resolve(),
      };
    },
  );
  const watch = (name: string) =>
    set.watch(
      name,
      `/api/v1/${name}`,
      () => Promise.resolve({ items: [] }),
      () => undefined,
      () => undefined,
    );
  return { set, listed, watch };
}

test("ready once every watch started has listed, however many were started", async (t) => {
  const names = ["replicasets", "jobs", "pods", "services", "endpointslices", "clientintents"];
  const { set, listed, watch } = fakeWatches();
  // One more than the collector has today: a watch added must never leave it unready.
  await Promise.all([...names, "nodes"].map(watch));
  set.allStarted();
  for (const name of [...names, "nodes"]) {
    t.false(set.synced(), `not ready before ${name} has listed`);
    listed.set(name, true);
  }
  t.true(set.synced());
});

test("not ready before the component has started every watch it needs", async (t) => {
  const { set, listed, watch } = fakeWatches();
  await watch("replicasets");
  listed.set("replicasets", true);
  // The pods' watch starts only once the owners have listed: not ready in between.
  t.false(set.synced());
  await watch("pods");
  set.allStarted();
  t.false(set.synced());
  listed.set("pods", true);
  t.true(set.synced());
});

test("a watch added later is waited for; one stopped no longer counts", async (t) => {
  const { set, listed, watch } = fakeWatches();
  await watch("namespaces");
  set.allStarted();
  listed.set("namespaces", true);
  t.true(set.synced());
  // Otterize's CRD is installed: its watch must list before the webhook is ready again.
  await watch("clientintents");
  t.false(set.synced());
  listed.set("clientintents", true);
  t.true(set.synced());
  listed.set("clientintents", false);
  t.false(set.synced());
  // The CRD is removed again.
  await set.unwatch("clientintents");
  t.true(set.synced());
});
