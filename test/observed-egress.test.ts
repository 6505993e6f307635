import test from "ava";
import { InputError } from "../src/errors.js";
import { observedFromDocuments } from "../src/observed-egress.js";
import { parseYamlDocuments } from "../src/yaml-documents.js";

function item(i: number, lastSeen: string): string {
  return [
    "- apiVersion: egress.otter.dev/v1alpha1",
    "  kind: ObservedEgress",
    `  metadata: {name: w${i}, namespace: dev}`,
    `  spec: {workload: {name: w${i}, kind: Deployment}}`,
    "  status:",
    "    destinations:",
    `    - internet: {dnsName: api-${i}.example.com, ips: [10.0.${i % 250}.1], ports: [443]}`,
    `      lastSeen: "${lastSeen}"`,
  ].join("\n");
}

function list(n: number, badAt?: number): string {
  const items = Array.from({ length: n }, (_, i) =>
    item(i, i === badAt ? "soon" : "2026-11-25T09:00:00Z"),
  );
  return `apiVersion: v1\nkind: List\nitems:\n${items.join("\n")}\n`;
}

test("objects of a List keep their lines", (t) => {
  const observed = observedFromDocuments(parseYamlDocuments(list(3), "s.yaml"));
  t.deepEqual(
    observed.map((o) => o.source),
    [
      { file: "s.yaml", line: 4 },
      { file: "s.yaml", line: 12 },
      { file: "s.yaml", line: 20 },
    ],
  );
});

test("an error deep in a big snapshot still names its line", (t) => {
  const text = list(30_000, 29_999);
  t.true(text.length > 4 << 20, "big enough that positions are not kept");
  const e = t.throws(() => observedFromDocuments(parseYamlDocuments(text, "big.yaml")), {
    instanceOf: InputError,
  });
  t.is(
    e?.message,
    `big.yaml:${3 + 29_999 * 8 + 8}: items[29999].status.destinations[0].lastSeen: "soon" is not an RFC 3339 timestamp`,
  );
});

test("a well-formed big snapshot is read whole", (t) => {
  const observed = observedFromDocuments(parseYamlDocuments(list(30_000), "big.yaml"));
  t.is(observed.length, 30_000);
  t.is(observed[29_999]?.destinations[0]?.kind, "internet");
});

test("addresses are held in their canonical spelling; one that is not an address names itself", (t) => {
  const read = (ips: string) =>
    observedFromDocuments(
      parseYamlDocuments(
        [
          "apiVersion: egress.otter.dev/v1alpha1",
          "kind: ObservedEgress",
          "metadata: {name: w, namespace: dev}",
          "spec: {workload: {name: w}}",
          "status:",
          "  destinations:",
          `  - internet: {ips: ${ips}}`,
          '    lastSeen: "2026-11-25T09:00:00Z"',
        ].join("\n"),
        "o.yaml",
      ),
    )[0]?.destinations[0];
  const texts = (ips: string) => {
    const d = read(ips);
    return d?.kind === "internet" ? d.ips.map((ip) => ip.text) : undefined;
  };
  t.deepEqual(texts("[10.0.0.1, 10.0.0.2, 10.0.0.1]"), ["10.0.0.1", "10.0.0.2", "10.0.0.1"]);
  t.deepEqual(texts("[10.0.0.1, 2606:4700:0:0::6812:7C0]"), ["10.0.0.1", "2606:4700::6812:7c0"]);
  t.deepEqual(texts('["::ffff:10.0.0.1"]'), ["::ffff:a00:1"]);
  t.throws(() => read("[10.0.0.1, 010.0.0.2]"), {
    message: 'o.yaml:7: status.destinations[0].internet.ips[1]: "010.0.0.2" is not an IP address',
  });
  t.throws(() => read("[]"), {
    message:
      "o.yaml:7: status.destinations[0].internet: an internet destination needs a dnsName or ips",
  });
});
