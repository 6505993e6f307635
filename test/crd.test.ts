import { readFileSync } from "node:fs";
import test from "ava";
import { load } from "js-yaml";
import { schemaErrors } from "./helpers/crd-schema.js";
import { internet, observedEgress } from "./helpers/factories.js";

const crd = load(
  readFileSync("charts/otter-egress/files/crds/egress.otter.dev_observedegresses.yaml", "utf8"),
) as {
  spec: {
    group: string;
    names: { shortNames: string[]; kind: string };
    scope: string;
    versions: Array<{
      name: string;
      subresources?: { status?: object };
      schema: { openAPIV3Schema: object };
    }>;
  };
};
const version = crd.spec.versions[0]!;

test("the ObservedEgress CRD is namespaced, short name oe, with a status subresource", (t) => {
  t.is(crd.spec.group, "egress.otter.dev");
  t.is(crd.spec.names.kind, "ObservedEgress");
  t.deepEqual(crd.spec.names.shortNames, ["oe"]);
  t.is(crd.spec.scope, "Namespaced");
  t.is(version.name, "v1alpha1");
  t.deepEqual(version.subresources?.status, {});
});

test("the example snapshot's objects fit the CRD schema", (t) => {
  const list = load(readFileSync("examples/observed/snapshot.yaml", "utf8")) as {
    items: unknown[];
  };
  t.is(list.items.length, 2);
  for (const item of list.items)
    t.deepEqual(schemaErrors(version.schema.openAPIV3Schema, item), []);
});

test("the CRD schema refuses malformed ObservedEgress", (t) => {
  const schema = version.schema.openAPIV3Schema;
  const good = observedEgress({ destinations: [internet("a.com", ["1.2.3.4"], [443])] });
  t.deepEqual(schemaErrors(schema, good), []);
  const typo = observedEgress({
    destinations: [{ intenet: { dnsName: "a.com" }, lastSeen: "2026-11-25T00:00:00Z" }],
  });
  t.true(schemaErrors(schema, typo).some((e) => e.includes("intenet: unknown field")));
  const badPort = observedEgress({
    destinations: [{ internet: { ports: ["https"] }, lastSeen: "2026-11-25T00:00:00Z" }],
  });
  t.true(schemaErrors(schema, badPort).some((e) => e.includes("expected integer")));
  const noWorkload = { ...good, spec: {} };
  t.true(schemaErrors(schema, noWorkload).some((e) => e.includes("missing required workload")));
});
