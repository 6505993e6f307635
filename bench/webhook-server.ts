import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:https";
import { join } from "node:path";
import { decide } from "../src/admission/decide.js";
import { clientIntentsFromDocuments, type ClientIntents } from "../src/client-intents.js";
import { observedFromDocuments, type ObservedWorkload } from "../src/observed-egress.js";
import { generateKeyPair, issueServing, webhookCa } from "../src/tls.js";
import { parseYamlDocuments } from "../src/yaml-documents.js";
import { createWebhookServer } from "../webhook/server.js";

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

function byNamespace<T extends { namespace: string }>(items: T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const i of items) {
    const list = m.get(i.namespace);
    if (list) list.push(i);
    else m.set(i.namespace, [i]);
  }
  return m;
}

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
  const intentsDir = join(dir, "intents");
  const intents: ClientIntents[] = readdirSync(intentsDir).flatMap((f) =>
    clientIntentsFromDocuments(
      parseYamlDocuments(readFileSync(join(intentsDir, f), "utf8"), f),
      "default",
    ),
  );
  const observed: ObservedWorkload[] = observedFromDocuments(
    parseYamlDocuments(readFileSync(join(dir, "observed.yaml"), "utf8"), "observed.yaml"),
  );
  const intentsIn = byNamespace(intents);
  const observedIn = byNamespace(observed);
  const labels = { "egress.otter.dev/gate": "warn" };
  server = createWebhookServer({
    tls,
    failurePolicy: "Fail",
    isReady: () => true,
    decide: (req) =>
      decide(req, {
        namespaceLabels: labels,
        intents: intentsIn.get(req.namespace) ?? [],
        observed: observedIn.get(req.namespace) ?? [],
        listening: { state: "live" },
        now: Date.parse("2026-11-25T10:00:00Z"),
        windowMs: 168 * 3_600_000,
        denyOn: new Set(["missing", "unnecessary"]),
      }),
  }).server;
}
server.listen(Number(portText), "127.0.0.1", () => process.stdout.write("ready\n"));
process.on("SIGTERM", () => {
  process.stdout.write(`${JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
  process.exit(0);
});
