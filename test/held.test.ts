import test from "ava";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { decide, type AdmissionContext } from "../src/admission/decide.js";
import { request } from "./helpers/review.js";
import { clientIntentsFromObject } from "../src/client-intents.js";
import { judgeWorkload } from "../src/verdicts.js";
import {
  observedFromObject,
  type Destination,
  type ObservedWorkload,
} from "../src/observed-egress.js";
import {
  everyIpText,
  firstIpText,
  hasIpText,
  HeldInternetDestination,
  ipCount,
  ipTexts,
  joinedIpTexts,
} from "../src/held.js";
import { parseIp, type IpAddress } from "../src/ip.js";
import type { Obj } from "../src/shape.js";
import { itemKey } from "../src/targets.js";
import { ago, clientIntents, DAY, HOUR, NOW, observedEgress, WINDOW } from "./helpers/factories.js";

/**
 * The webhook holds 50,000 workloads' observations in a compact form (src/held.ts): addresses
 * as one string, times in sorted arrays, names shared. Decisions from it must equal decisions
 * from the same observations as plain objects, for any observations and intents.
 */

const DOMAINS = ["api.openai.com", "s3.amazonaws.com", "a.example.com", "b.example.com"];
const IPS = ["104.18.7.192", "104.18.6.192", "10.0.0.5", "2606:4700::1"];
const NETWORKS = ["104.18.0.0/16", "10.0.0.0/8", "2606:4700::/32"];
const NAMES = ["redis", "nats"];
const PORTS = fc.constantFrom<number[]>([], [443], [443, 8443], [6379]);
const SEEN = fc.integer({ min: 0, max: 12 * 24 }).map((h) => ago(h * HOUR));

const destinationArb = fc.oneof(
  fc
    .record({
      internet: fc.record(
        {
          dnsName: fc.constantFrom(...DOMAINS),
          ips: fc.subarray(IPS),
          ports: PORTS,
        },
        { requiredKeys: ["ips", "ports"] },
      ),
      lastSeen: SEEN,
      firstSeen: fc.constant(ago(20 * DAY)),
    })
    .filter((d) => d.internet.dnsName !== undefined || d.internet.ips.length > 0),
  fc.record({
    kubernetes: fc.record(
      {
        name: fc.constantFrom(...NAMES),
        namespace: fc.constant("dev"),
        kind: fc.constantFrom("Deployment", "StatefulSet"),
        service: fc.constantFrom(...NAMES),
        ports: PORTS,
      },
      { requiredKeys: ["name", "namespace"] },
    ),
    lastSeen: SEEN,
  }),
);

const targetArb = fc.oneof(
  fc.record({
    internet: fc.record({
      domains: fc.subarray([...DOMAINS, "*.amazonaws.com"], { minLength: 1 }),
      ports: PORTS,
    }),
  }),
  fc.record({ internet: fc.record({ ips: fc.subarray([...IPS, ...NETWORKS], { minLength: 1 }) }) }),
  fc.record({ kubernetes: fc.record({ name: fc.constantFrom(...NAMES) }) }),
  fc.record({ service: fc.record({ name: fc.constantFrom(...NAMES) }) }),
);

/** The same observations as plain objects: what the engine was written against. */
function plain(o: ObservedWorkload): ObservedWorkload {
  const destinations = o.destinations.map((d): Destination => {
    if (d.kind === "kubernetes") {
      return {
        kind: "kubernetes",
        name: d.name,
        namespace: d.namespace,
        ...(d.workloadKind === undefined ? {} : { workloadKind: d.workloadKind }),
        ...(d.service === undefined ? {} : { service: d.service }),
        ports: [...d.ports],
        lastSeen: d.lastSeen,
        ...(d.firstSeen === undefined ? {} : { firstSeen: d.firstSeen }),
      };
    }
    return {
      kind: "internet",
      ...(d.dnsName === undefined ? {} : { dnsName: d.dnsName }),
      ips: d.ips.map((ip) => ({ family: ip.family, text: ip.text })),
      ports: [...d.ports],
      lastSeen: d.lastSeen,
      ...(d.firstSeen === undefined ? {} : { firstSeen: d.firstSeen }),
    };
  });
  return { ...o, destinations, declaredSince: new Map(o.declaredSince.entries()) };
}

/** Findings as data: what they say, and of which destinations (held ones as what they read as). */
const asData = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v, (_, x: unknown) => (typeof x === "bigint" ? x.toString() : x)));

test("decisions from held observations equal decisions from plain objects", (t) => {
  fc.assert(
    fc.property(
      fc.array(destinationArb, { maxLength: 8 }),
      fc.array(fc.tuple(targetArb, fc.integer({ min: 1, max: 40 })), { maxLength: 4 }),
      fc.array(targetArb, { maxLength: 6 }),
      fc.constantFrom("enforce", "warn"),
      (destinations, declared, targets, mode) => {
        const raw = observedEgress({
          destinations,
          declared: declared.map(([target, days]) => [target, ago(days * DAY)]),
        });
        const held = observedFromObject(JSON.parse(JSON.stringify(raw)));
        const flat = plain(held);
        const intents = clientIntents({ kind: "Deployment", targets });
        const ci = clientIntentsFromObject(intents, "dev");
        const options = { now: NOW, windowMs: WINDOW, listening: { state: "live" } } as const;
        t.deepEqual(
          asData(judgeWorkload(ci.items, [held], options)),
          asData(judgeWorkload(ci.items, [flat], options)),
        );
        const parsed = { request: request({ object: intents }) };
        const context = (o: ObservedWorkload): AdmissionContext => ({
          namespaceLabels: { "egress.otter.dev/gate": mode },
          intentsOf: () => [],
          observedOf: () => [o],
          listening: { state: "live" },
          now: NOW,
          windowMs: WINDOW,
          denyOn: new Set(["missing", "unnecessary"]),
        });
        t.deepEqual(decide(parsed.request, context(held)), decide(parsed.request, context(flat)));
      },
    ),
    { numRuns: 500 },
  );
});

test("a held destination's addresses read the same one by one as in a list", (t) => {
  fc.assert(
    fc.property(fc.subarray(IPS), fc.integer({ min: 0, max: 4 }), (texts, stopAt) => {
      const ips = texts.map((x) => parseIp(x) as IpAddress);
      const held = new HeldInternetDestination(
        undefined,
        joinedIpTexts(ips.map((ip) => ip.text)),
        [443],
        NOW,
        undefined,
      );
      const flat = { kind: "internet", ips, ports: [443], lastSeen: NOW } as const;
      const want = ips.map((ip) => ip.text);
      for (const d of [held, flat]) {
        t.deepEqual(ipTexts(d), want);
        t.is(ipCount(d), want.length);
        t.is(firstIpText(d), want[0]);
        // Read in order, and no further than the first address the test rejects.
        const seen: string[] = [];
        const every = everyIpText(d, (ip) => seen.push(ip) <= stopAt);
        t.deepEqual(seen, want.slice(0, stopAt + 1));
        t.is(every, want.length <= stopAt);
        // Whole addresses only: a prefix, a tail or the empty text is none of them.
        for (const probe of [...IPS, "", "10.0.0", "0.0.5", "104.18.7.19", "4700::1"]) {
          t.is(hasIpText(d, probe), want.includes(probe), `${JSON.stringify(probe)} in ${want}`);
        }
      }
      t.false(held.hasIpText(""), "the empty text, asked of the held form itself");
    }),
  );
});

test("when each target was first declared: the earliest of its entries, whatever their spelling", (t) => {
  // Spellings that normalise to one name, and targets that share items (a domain in two).
  const spelled = fc.constantFrom(
    ...DOMAINS,
    "API.openai.com",
    "api.openai.com.",
    "*.amazonaws.com",
  );
  const declaredTarget = fc.oneof(
    targetArb,
    fc.record({
      internet: fc.record(
        {
          domains: fc.array(spelled, { minLength: 1, maxLength: 3 }),
          ips: fc.subarray(IPS),
          ports: PORTS,
        },
        { requiredKeys: ["domains"] },
      ),
    }),
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(declaredTarget, fc.integer({ min: 1, max: 40 })), { maxLength: 12 }),
      (declared) => {
        const entries = declared.map(([target, days]): [Obj, string] => [target, ago(days * DAY)]);
        const held = observedFromObject(observedEgress({ declared: entries }));
        // Each entry's items, as a ClientIntents declaring that target reads them.
        const want = new Map<string, number>();
        for (const [target, since] of entries) {
          const ci = clientIntentsFromObject(clientIntents({ targets: [target] }), "dev");
          for (const item of ci.items) {
            const key = itemKey(item);
            const at = Date.parse(since);
            if (!(at >= (want.get(key) ?? Infinity))) want.set(key, at);
          }
        }
        // Held in key order.
        const byKey = [...want].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        t.deepEqual([...held.declaredSince.entries()], byKey);
        for (const [key, at] of want) t.is(held.declaredSince.get(key), at, key);
        t.is(held.declaredSince.get("domain:not.declared.example"), undefined);
      },
    ),
    { numRuns: 300 },
  );
});

test("each instant is held once, however many destinations were seen at it", (t) => {
  // A time held in an object is a number of its own unless it is one made before. 2,000
  // workloads × 30 destinations are read with their times spread over two weeks of whole hours
  // (336 instants); then the numbers on the heap are counted, in a process of its own.
  const module = fileURLToPath(new URL("../src/observed-egress.js", import.meta.url));
  const script = `
    import { getHeapSnapshot } from "node:v8";
    const { observedFromObject } = await import(${JSON.stringify(module)});
    const NOW = Date.parse("2026-11-25T10:00:00Z");
    let seed = 7;
    const hour = () => (seed = (seed * 48271) % 2147483647) % 336;
    const at = (h) => new Date(NOW - h * 3600000).toISOString().replace(".000Z", "Z");
    const held = Array.from({ length: 2000 }, (_, w) => observedFromObject(JSON.parse(JSON.stringify({
      apiVersion: "egress.otter.dev/v1alpha1", kind: "ObservedEgress",
      metadata: { name: "w-" + w, namespace: "team-" + (w % 20) },
      spec: { workload: { name: "w-" + w, kind: "Deployment" } },
      status: { destinations: Array.from({ length: 30 }, (_, d) => ({
        internet: { dnsName: "api-" + d + ".example.com", ports: [443] },
        firstSeen: at(400 + hour()), lastSeen: at(hour()),
      })) },
    }))));
    const snapshot = JSON.parse(await new Response(getHeapSnapshot()).text());
    const { node_fields: fields, node_types: [types] } = snapshot.snapshot.meta;
    const type = fields.indexOf("type");
    let numbers = 0;
    for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
      if (types[snapshot.nodes[i + type]] === "number") numbers++;
    }
    console.log(JSON.stringify({ held: held.length, numbers }));
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  t.is(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout) as { held: number; numbers: number };
  t.is(m.held, 2000);
  // 120,000 times read: a number each is 120,000 numbers; Node itself holds under a thousand.
  t.true(m.numbers < 10_000, `${m.numbers} numbers on the heap`);
});
