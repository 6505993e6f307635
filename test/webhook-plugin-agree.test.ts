import assert from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import fc from "fast-check";
import { execute } from "../cmd/plugin-run.js";
import { decide, namespaceContents, type AdmissionContext } from "../src/admission/decide.js";
import { parseRequest } from "../src/cli/invocation.js";
import { GATE_LABEL } from "../src/labels.js";
import { targetLabel, targetPorts } from "../src/render/target-label.js";
import type { TargetV2 } from "../src/targets.js";
import {
  ago,
  clientIntents,
  DAY,
  HOUR,
  iso,
  kube,
  NOW,
  observedEgress,
  parseIntents,
  parseObserved,
  WINDOW,
  yamlStream,
} from "./helpers/factories.js";
import { request } from "./helpers/review.js";

/**
 * One engine, two front ends: on the same objects, the webhook's decision and
 * `kubectl otter egress diff`'s findings name the same missing and unnecessary targets, for
 * ClientIntents under review and for a workload judged against the intents in the cache.
 */

const DOMAINS = ["api.example.com", "s3.example.com", "x.example.org"];
const DECLARED_DOMAINS = [...DOMAINS, "*.example.com", "old.example.net"];
const PORTS = [443, 80];
const seen = fc.constantFrom(ago(HOUR), ago(3 * DAY), ago(30 * DAY));
const since = fc.constantFrom(ago(60 * DAY), ago(DAY));

const destination = fc.oneof(
  fc
    .record({
      dnsName: fc.constantFrom(...DOMAINS),
      ips: fc.subarray(["192.0.2.1", "192.0.2.2"]),
      ports: fc.subarray(PORTS),
      lastSeen: seen,
    })
    .map((d) => ({
      internet: {
        dnsName: d.dnsName,
        ...(d.ips.length ? { ips: d.ips } : {}),
        ...(d.ports.length ? { ports: d.ports } : {}),
      },
      firstSeen: ago(90 * DAY),
      lastSeen: d.lastSeen,
    })),
  fc.record({ ip: fc.constantFrom("192.0.2.1", "198.51.100.7"), lastSeen: seen }).map((d) => ({
    internet: { ips: [d.ip], ports: [443] },
    firstSeen: ago(90 * DAY),
    lastSeen: d.lastSeen,
  })),
  fc
    .record({ name: fc.constantFrom("redis", "nats"), lastSeen: seen })
    .map((d) => kube(d.name, "dev", { lastSeen: d.lastSeen })),
);

const target = fc.oneof(
  fc
    .record({ domains: fc.subarray(DECLARED_DOMAINS, { minLength: 1 }), ports: fc.subarray(PORTS) })
    .map((t) => ({
      internet: { domains: t.domains, ...(t.ports.length ? { ports: t.ports } : {}) },
    })),
  fc.constantFrom({ internet: { ips: ["192.0.2.0/24"] } }, { kubernetes: { name: "redis" } }),
  fc.constantFrom(
    { service: { name: "nats" } },
    { aws: { arn: "arn:aws:s3:::bucket", actions: ["s3:GetObject"] } },
  ),
);

const scenario = fc.record({
  destinations: fc.array(destination, { maxLength: 5 }),
  targets: fc.array(fc.tuple(target, since), { maxLength: 4 }),
  observingSince: since,
  observed: fc.boolean(),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

const intentsObject = (s: Scenario) =>
  clientIntents({ name: "app", kind: "Deployment", targets: s.targets.map(([t]) => t) });

/** The workload's ObservedEgress (unless it was never observed), and another workload's. */
const observedObjects = (s: Scenario) => [
  ...(s.observed
    ? [
        observedEgress({
          name: "app",
          destinations: s.destinations,
          observingSince: s.observingSince,
          declared: s.targets.map(([t, at]) => [t, at]),
        }),
      ]
    : []),
  observedEgress({ name: "unrelated", destinations: s.destinations }),
];

/** How both front ends name a failing finding: "missing api.example.com:443". */
const named = (verdict: string, t: TargetV2) => {
  const ports = targetPorts(t);
  return `${verdict} ${targetLabel(t)}${ports === "-" ? "" : `:${ports}`}`;
};

interface Judged {
  readonly denied: boolean;
  readonly failing: string[];
}

/** `kubectl otter egress diff --intents … --observed … -o json`, run as the plugin runs it. */
async function plugin(dir: string, s: Scenario): Promise<Judged> {
  const intentsFile = join(dir, "intents.yaml");
  const observedFile = join(dir, "observed.yaml");
  writeFileSync(intentsFile, yamlStream([intentsObject(s)]));
  writeFileSync(observedFile, yamlStream(observedObjects(s)));
  const r = parseRequest([
    "egress",
    "diff",
    ...["--intents", intentsFile, "--observed", observedFile],
    ...["--now", iso(NOW), "-o", "json"],
  ]);
  if (r.kind !== "run") throw new Error(`expected a run, got ${r.kind}`);
  let out = "";
  const code = await execute(r.invocation, {
    stdout: (text) => (out += text),
    stderr: () => undefined,
    stdin: () => "",
    env: {},
    isTTY: false,
    clock: () => NOW,
  });
  const diff = JSON.parse(out) as {
    workloads: Array<{ findings: Array<{ verdict: string; target: TargetV2 }> }>;
  };
  const failing = diff.workloads
    .flatMap((w) => w.findings)
    .filter((f) => f.verdict === "missing" || f.verdict === "unnecessary")
    .map((f) => named(f.verdict, f.target));
  return { denied: code === 1, failing: failing.sort() };
}

/** The items a denial names ("…: missing a (last seen …); unnecessary b (…). To print…"). */
function denialItems(message: string): string[] {
  const list = /do not match its observed egress: (.*)\. To print intents that match/s.exec(
    message,
  );
  if (!list) throw new Error(`not a drift denial: ${message}`);
  return (list[1] as string)
    .split("; ")
    .map((item) => item.replace(/ \((last seen|not seen) [^)]*\)$/, ""))
    .sort();
}

function webhook(s: Scenario, under: "ClientIntents" | "Deployment"): Judged {
  const observed = parseObserved(observedObjects(s));
  const intents = intentsObject(s);
  const ctx: AdmissionContext = {
    namespaceLabels: { [GATE_LABEL]: "enforce" },
    // A workload is judged against the intents in the cache; ClientIntents against themselves.
    ...namespaceContents(under === "Deployment" ? parseIntents([intents]) : [], observed),
    // The snapshot the plugin reads was written by a collector that was listening.
    listening: { state: "live" },
    now: NOW,
    windowMs: WINDOW,
    denyOn: new Set(["missing", "unnecessary"]),
  };
  const object =
    under === "Deployment"
      ? { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "app", namespace: "dev" } }
      : intents;
  const answer = decide(request({ object }), ctx);
  return {
    denied: !answer.allowed,
    failing: answer.allowed ? [] : denialItems(answer.message ?? ""),
  };
}

test("the webhook and kubectl otter egress diff name the same missing and unnecessary targets", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "otter-agree-"));
  let denials = 0;
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const fromPlugin = await plugin(dir, s);
      for (const under of ["ClientIntents", "Deployment"] as const) {
        const fromWebhook = webhook(s, under);
        // (Thrown, so that fast-check shrinks to the smallest disagreement.)
        assert.deepStrictEqual(fromWebhook, fromPlugin, under);
        if (fromWebhook.denied) denials++;
      }
    }),
    { numRuns: 150 },
  );
  // Generated inputs that all pass would prove nothing.
  t.true(denials > 50, `${denials} denials`);
});
