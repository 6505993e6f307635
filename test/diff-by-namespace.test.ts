import test from "ava";
import fc from "fast-check";
import { clientIntentsFromObject, type ClientIntents } from "../src/client-intents.js";
import { reportText } from "../cmd/streamed-diff.js";
import { TextSpool } from "../cmd/text-spool.js";
import { DiffByNamespace } from "../src/cli/diff-by-namespace.js";
import { parseRequest, type Invocation } from "../src/cli/invocation.js";
import { runCommand } from "../src/cli/run.js";
import { observedFromObject, type ObservedWorkload } from "../src/observed-egress.js";
import type { Listening } from "../src/verdicts.js";
import {
  ago,
  clientIntents,
  DAY,
  HOUR,
  internet,
  kube,
  NOW,
  observedEgress,
} from "./helpers/factories.js";

/**
 * `diff -A -o json` of a cluster judged namespace by namespace writes the report the whole
 * cluster's diff writes, byte for byte, with the same exit code.
 */

function invocation(...flags: string[]): Invocation {
  const r = parseRequest(["egress", "diff", "-A", "-o", "json", ...flags]);
  if (r.kind !== "run") throw new Error("expected a run");
  return r.invocation;
}

const NAMESPACES = ["a", "a-1", "dev", "team-1", "team-10", "team-2"];
const NAMES = ["api", "worker", "redis"];
const destination = fc.oneof(
  fc
    .tuple(fc.constantFrom("api.openai.com", "s3.amazonaws.com"), fc.integer({ min: 1, max: 300 }))
    .map(([name, h]) => internet(name, ["104.18.7.192"], [443], ago(h * HOUR))),
  fc
    .tuple(fc.constantFrom(...NAMES), fc.integer({ min: 1, max: 300 }))
    .map(([name, h]) => kube(name, "dev", { ports: [6379], lastSeen: ago(h * HOUR) })),
);
const target = fc.oneof(
  fc.constantFrom("api.openai.com", "*.amazonaws.com", "unused.example.com").map((d) => ({
    internet: { domains: [d] },
  })),
  fc.constantFrom(...NAMES).map((name) => ({ kubernetes: { name: `${name}.dev` } })),
);
/** A workload: what was observed of it, what is declared for it, or both. */
const workload = fc.record({
  namespace: fc.constantFrom(...NAMESPACES),
  name: fc.constantFrom(...NAMES),
  observed: fc.option(fc.array(destination, { maxLength: 4 })),
  targets: fc.option(fc.array(target, { maxLength: 3 })),
});

type Workload = typeof workload extends fc.Arbitrary<infer W> ? W : never;

function objects(ws: readonly Workload[]) {
  const intents: ClientIntents[] = [];
  const observed: ObservedWorkload[] = [];
  const seen = new Set<string>();
  for (const w of ws) {
    const key = `${w.namespace}/${w.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (w.observed) {
      const o = observedEgress({ ...w, destinations: w.observed, observingSince: ago(30 * DAY) });
      observed.push(observedFromObject(JSON.parse(JSON.stringify(o))));
    }
    if (w.targets) {
      const ci = clientIntents({ ...w, kind: "Deployment", targets: w.targets });
      intents.push(clientIntentsFromObject(JSON.parse(JSON.stringify(ci)), "default"));
    }
  }
  return { intents, observed };
}

test("property: judged namespace by namespace, the report and exit code are the whole diff's", (t) => {
  const listening: Listening = { state: "live" };
  fc.assert(
    fc.property(
      fc.array(workload, { maxLength: 12 }),
      fc.constantFrom([], ["--fail-on", "missing"], ["--fail-on", "none"]),
      (ws, flags) => {
        const inv = invocation("--now", "2026-11-25T10:00:00Z", ...flags);
        const { intents, observed } = objects(ws);
        const namespaces = { all: true } as const;
        const whole = runCommand(
          inv,
          { intents, observed, workloadScope: "namespaces", listening, now: NOW, namespaces },
          { color: false, width: 80 },
        );
        const diff = new DiffByNamespace(inv, { listening, now: NOW, namespaces });
        // Small blocks: a namespace's text spans several, and a block holds several namespaces.
        const spool = new TextSpool(200);
        // As the API server lists them: in key order ("a-1/…" before "a/…").
        const names = [...new Set([...intents, ...observed].map((o) => o.namespace))];
        for (const ns of names.sort((x, y) => (`${x}/` < `${y}/` ? -1 : 1))) {
          spool.begin(ns);
          const add = diff.add(
            intents.filter((ci) => ci.namespace === ns),
            observed.filter((o) => o.namespace === ns),
          );
          for (const text of add) spool.add(text);
        }
        t.is([...reportText(diff, spool)].join(""), [...whole.stdout].join(""));
        t.is(diff.exitCode, whole.exitCode);
      },
    ),
    { numRuns: 300 },
  );
});
