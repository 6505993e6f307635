import { generateKeyPair } from "../webhook/key-pair.js";
import type { KubernetesObject } from "@kubernetes/client-node";
import { load } from "js-yaml";
import { readdirSync, readFileSync, writeSync } from "node:fs";
import { createServer } from "node:https";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { median } from "./stats.js";
import { join } from "node:path";
import { decide } from "../src/admission/decide.js";
import { ListSplitter, WHOLE } from "../src/snapshot-split.js";
import { issueServing, webhookCa } from "../src/tls.js";
import type { Verdict } from "../src/verdicts.js";
import { log } from "../server/log.js";
import { createWebhookServer } from "../webhook/server.js";
import { CacheStore } from "../webhook/store.js";
import { tuneHeapForReviews } from "../webhook/heap-tuning.js";

/**
 * A server for `npm run bench:webhook`, run pinned to one core:
 *   node dist/bench/webhook-server.js engine|floor PORT DATA_DIR
 * `engine` is the real webhook server deciding from caches of the generated data; `floor` is
 * a bare node:https server that parses the body and answers a fixed AdmissionReview.
 */

const [mode, portText, dir] = process.argv.slice(2) as [string, string, string];
const now = Date.now();
const keys = generateKeyPair(2048);
const ca = webhookCa(keys, now);
const tls = issueServing(
  ca,
  keys,
  { dnsNames: ["localhost"], ips: ["127.0.0.1"] },
  now,
  86_400_000,
);

let server;
if (mode === "floor") {
  const answer = (uid: string) =>
    JSON.stringify({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid, allowed: true },
    });
  server = createServer(tls, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        request: { uid: string };
      };
      const out = answer(body.request.uid);
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(out),
      });
      res.end(out);
    });
  });
} else {
  // As the webhook's entry point does, before its caches hold anything.
  tuneHeapForReviews();
  // The caches are filled as the informers fill them: object by object, from JSON as the API
  // server sends it, through the same CacheStore.
  const store = new CacheStore("otter-egress");
  const fromApi = (o: unknown) => JSON.parse(JSON.stringify(o)) as KubernetesObject;
  const intentsDir = join(dir, "intents");
  for (const f of readdirSync(intentsDir)) {
    store.setIntents(fromApi(load(readFileSync(join(intentsDir, f), "utf8"))));
  }
  // The snapshot item by item (a whole parse of 50,000 workloads' YAML outgrows the heap).
  const splitter = new ListSplitter();
  const first = splitter.push(readFileSync(join(dir, "observed.yaml"), "utf8"));
  const last = splitter.end();
  if (first === WHOLE || last === WHOLE) throw new Error("the generated snapshot is not split");
  const namespaces = new Set<string>();
  for (const piece of [...first, ...last.pieces]) {
    const object = fromApi((load(piece.text) as unknown[])[0]);
    store.setObserved(object);
    namespaces.add(object.metadata?.namespace ?? "");
  }
  for (const name of namespaces) {
    store.setNamespace({ metadata: { name, labels: { "egress.otter.dev/gate": "warn" } } });
  }
  const settings = {
    windowMs: 168 * 3_600_000,
    denyOn: new Set<Verdict>(["missing", "unnecessary"]),
  };
  const asOf = Date.parse("2026-11-25T10:00:00Z");
  server = createWebhookServer({
    tls,
    failurePolicy: "Fail",
    isReady: () => true,
    log,
    decide: (req) => decide(req, store.context(req.namespace, asOf, settings)),
  }).server;
}
// Logs go to stdout, as in the cluster; the benchmark's own messages go to fd 3.
// The caches' live size: the heap after a full collection, once everything is loaded.
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const heapMb = process.memoryUsage().heapUsed / 1048576;
// Young collections while serving: their pauses are what a review may wait for.
const youngPauses: number[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR)
      youngPauses.push(e.duration);
  }
}).observe({ entryTypes: ["gc"] });
server.listen(Number(portText), "127.0.0.1", () => writeSync(3, "ready\n"));
process.on("SIGTERM", () => {
  const rssMb = process.memoryUsage().rss / 1048576;
  writeSync(
    3,
    `${JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024, rssMb, heapMb, youngPauseMs: median(youngPauses) })}\n`,
  );
  process.exit(0);
});
