import { byNamespace, UNORDERED } from "../src/by-namespace.js";
import { DiffByNamespace } from "../src/cli/diff-by-namespace.js";
import { compareNamespaces } from "../src/diff.js";
import type { Invocation } from "../src/cli/invocation.js";
import { namespaceScope } from "../src/cli/run.js";
import type * as ClusterSourcesModule from "./cluster-sources.js";
import type { Cluster } from "./cluster-sources.js";
import type { Io } from "./kubectl-otter.js";
import { TextSpool } from "./text-spool.js";

/**
 * `kubectl otter egress diff -o json` of the cluster's own ClientIntents and observations,
 * judged namespace by namespace as the two lists are read (ADR 17): what it holds is one
 * namespace's objects and the report's text, compressed, instead of the whole cluster's.
 */

/** Whether a run is judged namespace by namespace: a JSON diff of the cluster's own objects. */
export function judgedByNamespace(inv: Invocation): boolean {
  return (
    inv.command === "diff" &&
    inv.intents.length === 0 &&
    inv.observed === undefined &&
    inv.base.length === 0 &&
    !inv.fix &&
    inv.output === "json"
  );
}

/**
 * Reads and judges; the report to write, and the exit code. Undefined when the API server's
 * lists were not in key order, or a list's continue token expired while the other was read:
 * then the lists are to be read whole.
 */
export async function diffByNamespace(
  inv: Invocation,
  io: Io,
  k8s: typeof ClusterSourcesModule,
  cluster: Cluster,
): Promise<{ stdout: Iterable<string>; exitCode: 0 | 1 } | undefined> {
  const namespaces = namespaceScope(inv, false, cluster.contextNamespace);
  const defaultNamespace = inv.kube.namespace ?? cluster.contextNamespace ?? "default";
  const now = inv.now ?? io.clock();
  const observed = new k8s.ClusterObserved(cluster, namespaces, inv.collectorNamespace, now);
  const intents = new k8s.ClusterIntents(cluster, namespaces);
  const listening = await observed.listening();
  const diff = new DiffByNamespace(inv, { listening, now, namespaces });
  const spool = new TextSpool();
  try {
    const groups = byNamespace(
      intents.pages(defaultNamespace),
      observed.pages(),
      (ci) => ci.namespace,
      (o) => o.namespace,
    );
    for await (const group of groups) {
      spool.begin(group.namespace);
      for (const text of diff.add(group.a, group.b)) spool.add(text);
    }
  } catch (e) {
    // By name, as isTypedError reads errors (the single binary may hold two copies of a class).
    if (e instanceof k8s.ExpiredList || (e as Error).name === UNORDERED) return undefined;
    throw e;
  }
  return { stdout: reportText(diff, spool), exitCode: diff.exitCode };
}

/**
 * The report: its summary, then each namespace's workloads in the report's order (by name;
 * the lists came in key order, "team-a/…" before "team/…").
 */
export function* reportText(diff: DiffByNamespace, spool: TextSpool): Generator<string> {
  yield diff.start();
  releaseHeap();
  const order = spool.names().sort(compareNamespaces);
  let any = false;
  let written = 0;
  for (const { text, first } of spool.read(order)) {
    if (first && any) yield diff.between;
    any = true;
    yield text;
    written += text.length;
    if (written > 1 << 20) {
      written = 0;
      collectYoung();
    }
  }
  yield diff.end();
}

/**
 * Once everything is read and judged, before the report is written: a full collection that
 * also gives the young generation's and the old generation's free pages back to the system
 * (V8's "last resort" collection, the one it makes under memory pressure). What the read left
 * committed would otherwise stay, beside what writing needs (ADR 22).
 */
function releaseHeap(): void {
  const gc = (globalThis as { gc?: (options: GcOptions) => void }).gc;
  gc?.({ type: "major", execution: "sync", flavor: "last-resort" });
}

/** The options of V8's gc() (--expose-gc). */
interface GcOptions {
  type: "minor" | "major";
  execution?: "sync";
  flavor?: "last-resort";
}

/**
 * Writing the report allocates little on V8's heap but a buffer a block outside it, which V8
 * frees only when it next collects its young generation: without this (every 1 MB), 150 MB of written
 * blocks pile up first. The plugin runs with --expose-gc (cmd/plugin-exec-argv.json); without
 * it this does nothing.
 */
function collectYoung(): void {
  const gc = (globalThis as { gc?: (options: GcOptions) => void }).gc;
  gc?.({ type: "minor" });
}
