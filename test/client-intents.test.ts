import test, { type ExecutionContext } from "ava";
import { InputError, plainSource } from "../src/errors.js";
import { itemLabel, itemTarget } from "../src/targets.js";
import { clientIntents, parseIntents } from "./helpers/factories.js";
import fc from "fast-check";
import {
  clientIntentsFromDocuments,
  fastV2Target,
  IntentsReader,
  V2_TARGET_FIELDS,
  v2Target,
} from "../src/client-intents.js";
import type { DeclaredItem } from "../src/targets.js";
import { objectDocument, parseYamlDocuments } from "../src/yaml-documents.js";

type Obj = Record<string, unknown>;

function labels(objects: Obj[]): string[] {
  return parseIntents(objects).flatMap((ci) => ci.items.map(itemLabel));
}

function rejects(t: ExecutionContext, objects: Obj[], pattern: RegExp) {
  const e = t.throws(() => parseIntents(objects), { instanceOf: InputError });
  t.regex(e?.message ?? "", pattern);
  t.regex(e?.message ?? "", /^intents\.yaml:\d+: /, "the error names the file and line");
}

test("v2beta1 and v2alpha1 targets become items with explicit namespaces", (t) => {
  for (const version of ["v2beta1", "v2alpha1"] as const) {
    const ci = clientIntents({
      version,
      kind: "Deployment",
      targets: [
        { kubernetes: { name: "redis", kind: "StatefulSet" } },
        { service: { name: "nats.messaging" } },
        { kafka: { name: "kafka" } },
        {
          internet: {
            domains: ["api.openai.com", "*.s3.amazonaws.com"],
            ips: ["10.0.0.0/8"],
            ports: [443],
          },
        },
        { aws: { arn: "arn:aws:s3:::b" } },
        { sql: { name: "db" } },
      ],
    });
    const [parsed] = parseIntents([ci]);
    t.deepEqual(parsed?.workload, { name: "joke-worker", kind: "Deployment" });
    t.deepEqual(parsed?.items.map(itemTarget), [
      { kubernetes: { name: "redis.dev", kind: "StatefulSet" } },
      { service: { name: "nats.messaging" } },
      { kafka: { name: "kafka.dev" } },
      { internet: { domains: ["api.openai.com"], ports: [443] } },
      { internet: { domains: ["*.s3.amazonaws.com"], ports: [443] } },
      { internet: { ips: ["10.0.0.0/8"], ports: [443] } },
      { aws: { arn: "arn:aws:s3:::b" } },
      { sql: { name: "db" } },
    ]);
  }
});

test("v1alpha3 and v1beta1 calls map to the same items, svc: meaning kind Service", (t) => {
  for (const version of ["v1alpha3", "v1beta1"] as const) {
    const ci = clientIntents({
      version,
      targets: [
        { name: "redis", kind: "StatefulSet" },
        { name: "svc:nats.messaging" },
        { name: "web", type: "http", HTTPResources: [{ path: "/", methods: ["GET"] }] },
        { name: "kafka", type: "kafka", kafkaTopics: [{ name: "t", operations: ["all"] }] },
        { name: "db", type: "database" },
        { name: "arn:aws:s3:::b", type: "aws" },
        { type: "internet", internet: { domains: ["api.openai.com"], ports: [443] } },
      ],
    });
    t.deepEqual(
      parseIntents([ci]).flatMap((c) => c.items.map(itemTarget)),
      [
        { kubernetes: { name: "redis.dev", kind: "StatefulSet" } },
        { service: { name: "nats.messaging" } },
        { kubernetes: { name: "web.dev" } },
        { kafka: { name: "kafka.dev" } },
        { sql: { name: "db" } },
        { aws: { arn: "arn:aws:s3:::b" } },
        { internet: { domains: ["api.openai.com"], ports: [443] } },
      ],
    );
  }
});

test("v1alpha2 calls are read; internet is not a v1alpha2 call type", (t) => {
  t.deepEqual(
    labels([
      clientIntents({ version: "v1alpha2", targets: [{ name: "redis" }, { name: "svc:nats" }] }),
    ]),
    ["kubernetes redis.dev", "kubernetes nats.dev (Service)"],
  );
  rejects(
    t,
    [
      clientIntents({
        version: "v1alpha2",
        targets: [{ type: "internet", internet: { domains: ["a.com"] } }],
      }),
    ],
    /unsupported call type "internet" in v1alpha2/,
  );
});

test("a missing namespace takes the default namespace", (t) => {
  const docs = parseYamlDocuments(
    "apiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\nmetadata: {name: w}\nspec:\n  workload: {name: w}\n  targets: [{kubernetes: {name: redis}}]\n",
    "f.yaml",
  );
  const [ci] = clientIntentsFromDocuments(docs, "team-a");
  t.is(ci?.namespace, "team-a");
  t.deepEqual(ci?.items.map(itemTarget), [{ kubernetes: { name: "redis.team-a" } }]);
});

test("other kinds of documents are skipped, and List items are read", (t) => {
  const text = [
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    "apiVersion: other.io/v1\nkind: ClientIntents\nmetadata: {name: x}\n",
    "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n- apiVersion: k8s.otterize.com/v2beta1\n  kind: ClientIntents\n  metadata: {name: a, namespace: dev}\n  spec:\n    workload: {name: a}\n    targets:\n    - internet: {domains: [x.example.com]}\n",
  ].join("---\n");
  const cis = clientIntentsFromDocuments(parseYamlDocuments(text, "l.yaml"), "default");
  t.is(cis.length, 1);
  t.deepEqual(cis[0]?.source, { file: "l.yaml", line: 14 });
  t.deepEqual(plainSource(cis[0]!.items[0]!.source), { file: "l.yaml", line: 20 });
});

test("every finding source points at the target's line", (t) => {
  const text = `# comment
apiVersion: k8s.otterize.com/v2beta1
kind: ClientIntents
metadata:
  name: w
  namespace: dev
spec:
  workload:
    name: w
  targets:
    - kubernetes:
        name: redis
    - internet:
        domains: [a.example.com, b.example.com]
`;
  const [ci] = clientIntentsFromDocuments(parseYamlDocuments(text, "w.yaml"), "default");
  t.deepEqual(ci?.source, { file: "w.yaml", line: 2 });
  t.deepEqual(
    ci?.items.map((i) => i.source.line),
    [11, 13, 13],
  );
});

test("each v2 target must have exactly one field", (t) => {
  rejects(
    t,
    [clientIntents({ targets: [{}] })],
    /spec\.targets\[0\]: each target must have exactly one field set .*found none/,
  );
  rejects(
    t,
    [clientIntents({ targets: [{ service: { name: "a" }, internet: { domains: ["a.com"] } }] })],
    /found service, internet/,
  );
  rejects(
    t,
    [clientIntents({ targets: [{ intenet: { domains: ["a.com"] } }] })],
    /unknown field "intenet"/,
  );
});

test("internet targets need domains or ips, valid ones", (t) => {
  rejects(t, [clientIntents({ targets: [{ internet: {} }] })], /must contain ips or domains/);
  rejects(
    t,
    [clientIntents({ targets: [{ internet: { domains: ["bad_domain.com"] } }] })],
    /domains\[0\]: "bad_domain\.com" is not a valid DNS name/,
  );
  rejects(
    t,
    [clientIntents({ targets: [{ internet: { domains: ["a.*.com"] } }] })],
    /wildcard may only be a leading/,
  );
  rejects(t, [clientIntents({ targets: [{ internet: { domains: ["*"] } }] })], /wildcard/);
  rejects(
    t,
    [clientIntents({ targets: [{ internet: { ips: ["1.2.3.4/33"] } }] })],
    /ips\[0\]: "1\.2\.3\.4\/33" is not a valid IP address or CIDR/,
  );
  rejects(t, [clientIntents({ targets: [{ internet: { ips: ["01.2.3.4"] } }] })], /not a valid IP/);
  rejects(
    t,
    [clientIntents({ targets: [{ internet: { domains: ["a.com"], ports: [70000] } }] })],
    /ports\[0\]: expected a port number/,
  );
  t.deepEqual(
    labels([
      clientIntents({ targets: [{ internet: { domains: ["bücher.de", "*.Example.COM."] } }] }),
    ]),
    ["xn--bcher-kva.de", "*.example.com"],
  );
});

test("target names have at most one dot; workload names none", (t) => {
  rejects(
    t,
    [clientIntents({ targets: [{ kubernetes: { name: "a.b.c" } }] })],
    /should not contain more than one '\.' character/,
  );
  rejects(
    t,
    [clientIntents({ version: "v1alpha3", targets: [{ name: "a.b.c" }] })],
    /more than one '\.'/,
  );
  rejects(t, [clientIntents({ name: "a.b" })], /workload name should not contain '\.'/);
  rejects(t, [clientIntents({ targets: [{ kubernetes: { name: "" } }] })], /name is required/);
  rejects(
    t,
    [clientIntents({ targets: [{ kubernetes: { name: "a", kind: "deployment" } }] })],
    /must start with an uppercase letter/,
  );
});

test("v1 calls need a name unless internet, and internet needs its object", (t) => {
  rejects(
    t,
    [clientIntents({ version: "v1alpha3", targets: [{ type: "http" }] })],
    /name is required/,
  );
  rejects(
    t,
    [clientIntents({ version: "v1beta1", targets: [{ type: "internet" }] })],
    /must contain an internet object/,
  );
  rejects(
    t,
    [clientIntents({ version: "v1beta1", targets: [{ type: "bogus", name: "x" }] })],
    /unsupported call type "bogus"/,
  );
});

test("cloud targets need their identifying field", (t) => {
  rejects(
    t,
    [clientIntents({ targets: [{ aws: { actions: ["s3:*"] } }] })],
    /aws\.arn: field arn is required/,
  );
  rejects(t, [clientIntents({ targets: [{ gcp: {} }] })], /field resource is required/);
  rejects(
    t,
    [clientIntents({ targets: [{ azure: { roles: ["r"] } }] })],
    /field scope is required/,
  );
});

test("unknown versions and malformed documents are refused", (t) => {
  const ci = clientIntents();
  rejects(t, [{ ...ci, apiVersion: "k8s.otterize.com/v3" }], /unknown ClientIntents version/);
  rejects(t, [{ ...ci, spec: "nope" }], /spec: expected an object/);
  rejects(t, [{ ...ci, spec: { workload: { name: "w" } } }], /field targets is required/);
  rejects(t, [{ ...ci, metadata: {} }], /metadata\.name: expected a string/);
});

test("property: the fast path for v2 targets reads exactly what the full reader reads", (t) => {
  const text = fc.constantFrom(
    "redis",
    "nats.messaging",
    "a.b.c",
    ".x",
    "x.",
    "",
    "api.openai.com",
    "*.example.com",
    "bad*.example.com",
    "under_score.io",
    "10.0.0.0/8",
    "2606:4700::1",
    "300.1.1.1",
    "StatefulSet",
    "service",
    "arn:aws:s3:::b",
  );
  const value = fc.oneof(
    text,
    fc.constant(null),
    fc.constant(undefined),
    fc.integer({ min: -1, max: 70000 }),
    fc.array(text, { maxLength: 3 }),
    fc.array(fc.oneof(fc.integer({ min: 0, max: 70000 }), text), { maxLength: 3 }),
  );
  const body = fc.dictionary(
    fc.constantFrom("name", "kind", "arn", "resource", "scope", "domains", "ips", "ports", "x"),
    value,
    { maxKeys: 4 },
  );
  const target = fc.dictionary(
    fc.constantFrom(...V2_TARGET_FIELDS, "bogus"),
    fc.oneof(body, value),
    { minKeys: 1, maxKeys: 2 },
  );
  const name = fc.constantFrom("redis", "nats.messaging", "kafka");
  const valid = fc.oneof(
    fc
      .record(
        { name, kind: fc.constantFrom("Deployment", "StatefulSet", "", null) },
        { requiredKeys: ["name"] },
      )
      .map((kubernetes) => ({ kubernetes })),
    name.map((n) => ({ service: { name: n } })),
    name.map((n) => ({ kafka: { name: n } })),
    fc.constantFrom(
      { aws: { arn: "arn:aws:s3:::b" } },
      { gcp: { resource: "projects/p" } },
      { azure: { scope: "/subscriptions/s" } },
      { sql: { name: "db" } },
    ),
    fc
      .record(
        {
          domains: fc.subarray(["api.openai.com", "*.example.com", "API.Example.com."]),
          ips: fc.subarray(["10.0.0.0/8", "2606:4700::1", "1.2.3.4"]),
          ports: fc.array(fc.integer({ min: 1, max: 65535 }), { maxLength: 2 }),
        },
        { requiredKeys: [] },
      )
      .map((internet) => ({ internet })),
  );
  const doc = objectDocument({}, "ClientIntents dev/x");
  let fast = 0;
  fc.assert(
    fc.property(fc.oneof(valid, target), (raw) => {
      const r = new IntentsReader(doc);
      const source = r.itemSource(["spec", "targets"], 0);
      const quick: DeclaredItem[] = [];
      const handled = fastV2Target(raw, "dev", source, quick);
      let full: DeclaredItem[] | InputError;
      try {
        full = [];
        v2Target(r, raw, ["spec", "targets", 0], "dev", full);
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        full = e;
      }
      if (!handled) return quick.length === 0;
      fast++;
      t.deepEqual(quick, full);
      return true;
    }),
    { numRuns: 3000 },
  );
  t.true(fast > 1000, `the fast path handled ${fast} of 3000 targets`);
});
