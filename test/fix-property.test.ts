import assert from "node:assert/strict";
import test from "ava";
import fc from "fast-check";
import { dump } from "js-yaml";
import { clientIntentsFromDocuments } from "../src/client-intents.js";
import { diffEgress, type DiffInput } from "../src/diff.js";
import { applyFix, planFix } from "../src/fix/plan.js";
import { parseYamlDocuments } from "../src/yaml-documents.js";
import {
  ago,
  DAY,
  diffInput,
  internet,
  kube,
  observedEgress,
  parseObserved,
} from "./helpers/factories.js";

/**
 * --fix, over generated intents files in every style the reader accepts (block or flow lists,
 * 2 or 4 spaces, indented or flush lists, JSON, v2beta1 or v1alpha3, comments everywhere) and
 * generated observations: afterwards nothing is missing or unnecessary, every comment of what
 * was kept is still there, and a second --fix changes nothing.
 */

const DOMAINS = [
  "api.example.com",
  "b.example.com",
  "cdn.example.org",
  "x.io",
  "Mixed.Example.NET",
];
const IPS = ["192.0.2.7", "198.51.100.0/24", "2001:db8::1"];
const KUBE = ["redis", "nats", "db"];

const portsArb = fc.constantFrom<number[]>([], [443], [443, 8443]);

const targetArb = fc.oneof(
  fc.record({
    domains: fc.subarray(DOMAINS, { minLength: 1, maxLength: 3 }),
    ips: fc.subarray(IPS, { maxLength: 2 }),
    ports: portsArb,
  }),
  fc.record({ kube: fc.constantFrom(...KUBE) }),
);

type GenTarget = { domains: string[]; ips: string[]; ports: number[] } | { kube: string };

function v2(t: GenTarget): object {
  if ("kube" in t) return { kubernetes: { name: t.kube } };
  return {
    internet: {
      domains: t.domains,
      ...(t.ips.length > 0 ? { ips: t.ips } : {}),
      ...(t.ports.length > 0 ? { ports: t.ports } : {}),
    },
  };
}

function v1(t: GenTarget): object {
  if ("kube" in t) return { name: t.kube };
  return { type: "internet", ...(v2(t) as object) };
}

const styleArb = fc.record({
  version: fc.constantFrom("v2beta1", "v1alpha3"),
  json: fc.boolean(),
  indent: fc.constantFrom(2, 4),
  seqNoIndent: fc.boolean(),
  flowLevel: fc.constantFrom(-1, 4, 5),
  comments: fc.boolean(),
});

function render(
  targets: readonly GenTarget[],
  style: {
    version: string;
    json: boolean;
    indent: number;
    seqNoIndent: boolean;
    flowLevel: number;
    comments: boolean;
  },
): string {
  const isV2 = style.version.startsWith("v2");
  const obj = {
    apiVersion: `k8s.otterize.com/${style.version}`,
    kind: "ClientIntents",
    metadata: { name: "joke-worker", namespace: "dev" },
    spec: isV2
      ? { workload: { name: "joke-worker", kind: "Deployment" }, targets: targets.map(v2) }
      : { service: { name: "joke-worker", kind: "Deployment" }, calls: targets.map(v1) },
  };
  if (style.json) return JSON.stringify(obj, null, style.indent) + "\n";
  let text = dump(obj, {
    indent: style.indent,
    seqNoIndent: style.seqNoIndent,
    flowLevel: style.flowLevel,
    lineWidth: -1,
    noRefs: true,
  });
  if (style.comments) {
    // A comment above every list item, at the item's own indentation, and one at the top.
    let n = 0;
    text = text.replace(/^( *)- /gm, (m, sp: string) => `${sp}# note ${n++}\n${m}`);
    text = `# owned by the joke team\n${text}`;
  }
  return text;
}

interface ObservedGen {
  domains: string[];
  ips: string[];
  kube: string[];
  port: number;
}

const observedArb: fc.Arbitrary<ObservedGen> = fc.record({
  domains: fc.subarray(
    DOMAINS.map((d) => d.toLowerCase()),
    { maxLength: 4 },
  ),
  ips: fc.subarray(["192.0.2.7", "198.51.100.9", "203.0.113.5"], { maxLength: 2 }),
  kube: fc.subarray(KUBE, { maxLength: 2 }),
  port: fc.constantFrom(443, 8443, 9000),
});

function input(text: string, file: string, observed: ObservedGen): DiffInput {
  const intents = clientIntentsFromDocuments(parseYamlDocuments(text, file), "dev");
  const declared = intents
    .flatMap((ci) => ci.items)
    .map((item): [object, string] => {
      switch (item.kind) {
        case "domain":
          return [{ internet: { domains: [item.domain] } }, ago(30 * DAY)];
        case "ip":
          return [{ internet: { ips: [item.text] } }, ago(30 * DAY)];
        default:
          return [
            { kubernetes: { name: `${"name" in item ? item.name : ""}.dev` } },
            ago(30 * DAY),
          ];
      }
    });
  const destinations = [
    ...observed.domains.map((d) => internet(d, ["203.0.113.77"], [observed.port])),
    ...observed.ips.map((ip) => internet(undefined, [ip], [observed.port])),
    ...observed.kube.map((k) => kube(k, "dev", { kind: "Deployment", service: k })),
  ];
  return diffInput({
    intents,
    observed: parseObserved([
      observedEgress({
        destinations,
        declared: declared as Array<[Record<string, unknown>, string]>,
      }),
    ]),
  });
}

test("after --fix nothing is missing or unnecessary, the file still parses with its header comment, and a second --fix changes nothing", (t) => {
  fc.assert(
    fc.property(
      fc.array(targetArb, { minLength: 1, maxLength: 5 }),
      styleArb,
      observedArb,
      (targets, style, observed) => {
        const file = style.json ? "intents.json" : "intents.yaml";
        const before = render(targets, style);
        const plan = planFix({
          diff: diffEgress(input(before, file, observed)),
          texts: new Map([[file, before]]),
          newFile: () => "new.yaml",
        });
        const after = applyFix(before, plan, file);
        const again = diffEgress(input(after, file, observed));
        const left = again.workloads
          .flatMap((w) => w.findings)
          .filter((f) => f.verdict === "missing" || f.verdict === "unnecessary");
        const story = `${before}\n--- became ---\n${after}`;
        if (plan.skipped.length === 0) assert.deepEqual(left, [], story);
        if (style.json) JSON.parse(after);
        else if (style.comments) assert.ok(after.startsWith("# owned by the joke team\n"), story);
        const second = planFix({
          diff: again,
          texts: new Map([[file, after]]),
          newFile: () => "new.yaml",
        });
        assert.deepEqual(second.changes, [], after);
      },
    ),
    { numRuns: 300, includeErrorInReport: true },
  );
  t.pass();
});
