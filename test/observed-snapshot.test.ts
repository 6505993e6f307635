import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import test from "ava";
import fc from "fast-check";
import { dump } from "js-yaml";
import { InputError } from "../src/errors.js";
import { observedOfSnapshot, type ObservedWorkload } from "../src/observed-egress.js";
import { observedOfSnapshotText, plainEntry, SnapshotReader } from "../src/observed-snapshot.js";
import { parseYamlDocuments } from "../src/yaml-documents.js";

/** A snapshot read piece by piece must read as the whole text reads. */

const whole = (text: string, file = "snap") => observedOfSnapshot(text, file);

/** Fed in chunks of the given sizes (cycled); undefined when the reader asks for the whole. */
function streamed(text: string, sizes: readonly number[], file = "snap") {
  const reader = new SnapshotReader(file);
  for (let at = 0, n = 0; at < text.length; n++) {
    const size = sizes[n % sizes.length] as number;
    if (!reader.push(text.slice(at, at + size))) return undefined;
    at += size;
  }
  return reader.end();
}

/** What a verdict reads of a workload, as plain data. */
function view(observed: readonly ObservedWorkload[]) {
  return JSON.parse(
    JSON.stringify(observed.map((w) => ({ ...w, declaredSince: [...w.declaredSince.entries()] }))),
  ) as unknown;
}

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
const time = fc
  .integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 11, 1) })
  .map((ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z"));
const ip = fc.ipV4();
const destination = fc.oneof(
  fc.record({
    internet: fc.record({
      dnsName: fc.tuple(name, name).map(([a, b]) => `${a}.${b}.example.com`),
      ips: fc.array(ip, { minLength: 1, maxLength: 3 }),
      ports: fc.array(fc.integer({ min: 1, max: 65535 }), { maxLength: 2 }),
    }),
    firstSeen: time,
    lastSeen: time,
  }),
  fc.record({
    kubernetes: fc.record({ name, namespace: name, kind: fc.constant("Deployment") }),
    lastSeen: time,
  }),
);
const observedEgress = fc
  .record({
    name,
    namespace: name,
    destinations: fc.array(destination, { maxLength: 6 }),
    declared: fc.array(fc.tuple(name, time, fc.boolean()), { maxLength: 3 }),
    coverage: fc.constantFrom(undefined, "full", "none"),
  })
  .map((o) => ({
    apiVersion: "egress.otter.dev/v1alpha1",
    kind: "ObservedEgress",
    metadata: { name: o.name, namespace: o.namespace, uid: `${o.name}-uid` },
    spec: { workload: { name: o.name, kind: "Deployment" } },
    status: {
      ...(o.coverage === undefined
        ? {}
        : {
            coverage: { state: o.coverage, ...(o.coverage === "none" ? { reason: "gone" } : {}) },
          }),
      destinations: o.destinations,
      declared: o.declared.map(([d, since, wildcard]) => ({
        target: { internet: { domains: [`${wildcard ? "*." : ""}${d}.example.org`] } },
        since,
      })),
    },
  }));
const other = fc.record({
  apiVersion: fc.constant("v1"),
  kind: fc.constant("ConfigMap"),
  metadata: fc.record({ name }),
  data: fc.dictionary(name, fc.string({ maxLength: 40 })),
});
const list = fc
  .array(fc.oneof({ weight: 5, arbitrary: observedEgress }, { weight: 1, arbitrary: other }), {
    maxLength: 12,
  })
  .map((items) => ({ apiVersion: "v1", items, kind: "List", metadata: { resourceVersion: "" } }));

/** The layouts kubectl and other tools write, each of which is split. */
const layouts: Record<string, (l: unknown) => string> = {
  "kubectl -o json": (l) => `${JSON.stringify(l, null, 4)}\n`,
  "kubectl -o yaml": (l) =>
    dump(l, { seqNoIndent: true, sortKeys: true, lineWidth: -1, quoteStyle: "double" }),
  "YAML, items indented": (l) => dump(l, { lineWidth: -1 }),
  "YAML, flow style inside items": (l) => dump(l, { lineWidth: -1, flowLevel: 3 }),
  "JSON, two-space indent, CRLF": (l) => JSON.stringify(l, null, 2).replace(/\n/g, "\r\n"),
};

for (const [layout, write] of Object.entries(layouts)) {
  test(`${layout}: read piece by piece, in chunks of any size, as the whole text reads`, (t) => {
    fc.assert(
      fc.property(
        list,
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 5 }),
        (l, sizes) => {
          const text = write(l);
          let expected: unknown;
          try {
            expected = view(whole(text));
          } catch (e) {
            // A List without ObservedEgress: the same error either way.
            t.throws(() => streamed(text, sizes), { message: (e as Error).message });
            return;
          }
          const got = streamed(text, sizes);
          // An empty List is written `items: []` in YAML, which is read whole.
          if (l.items.length > 0) t.truthy(got, "the layout is split");
          t.deepEqual(view(got ?? observedOfSnapshotText(text, "snap")), expected);
        },
      ),
      { numRuns: 60 },
    );
  });
}

test("comments and blank lines between a YAML List's items change nothing", (t) => {
  const text = dump(
    { apiVersion: "v1", kind: "List", items: [egress("a"), egress("b")] },
    { seqNoIndent: true, lineWidth: -1 },
  ).replace(/^- /gm, "# a comment\n\n- ");
  t.truthy(streamed(text, [7]));
  t.deepEqual(view(streamed(text, [7]) ?? []), view(whole(text)));
});

function egress(n: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "egress.otter.dev/v1alpha1",
    kind: "ObservedEgress",
    metadata: { name: n, namespace: "dev" },
    spec: { workload: { name: n, kind: "Deployment" } },
    status: {
      destinations: [
        {
          internet: { dnsName: `api.${n}.example.com`, ips: ["10.0.0.1"], ports: [443] },
          lastSeen: "2026-11-25T09:00:00Z",
        },
      ],
      ...extra,
    },
  };
}

/** Texts whose split would not be the whole's meaning: read whole, and read right. */
const unsplit: Record<string, string> = {
  "compact JSON": JSON.stringify({ kind: "List", items: [egress("a"), egress("b")] }),
  "JSON whose second items key replaces the first": JSON.stringify(
    { kind: "List", items: [egress("a")], z: 1 },
    null,
    4,
  ).replace('"z": 1', '"items": []'),
  "YAML whose item uses an anchor of another": [
    "kind: List",
    "items:",
    "- &first",
    `  ${JSON.stringify(egress("a"))}`,
    "- *first",
    "",
  ].join("\n"),
  "several YAML documents": `${dump({ kind: "List", items: [egress("a")] }, { seqNoIndent: true })}---\n${dump(egress("b"))}`,
  "a YAML directive": `%YAML 1.2\n---\n${dump({ kind: "List", items: [egress("a")] }, { seqNoIndent: true })}`,
  "JSON whose empty items key is spelled with an escape": JSON.stringify(
    { kind: "List", items: [egress("a")], z: 1 },
    null,
    4,
  ).replace('"z": 1', '"\\u0069tems": []'),
  "YAML whose lone carriage return ends a document inside an item": `items:\n- ${JSON.stringify(egress("a"))}\r...\r\nkind: List\n`,
  "a List that is not one (its kind comes after its items)": `${dump({ items: [egress("a")] }, { seqNoIndent: true })}kind: Config\n`,
};

for (const [what, text] of Object.entries(unsplit)) {
  test(`${what}: read whole, as before`, (t) => {
    t.is(streamed(text, [1 << 20]), undefined);
    let expected: unknown;
    try {
      expected = view(whole(text));
    } catch (e) {
      t.throws(() => observedOfSnapshotText(text, "snap"), { message: (e as Error).message });
      return;
    }
    t.deepEqual(view(observedOfSnapshotText(text, "snap")), expected);
  });
}

test("a bad item deep in a snapshot is named by its file, line and path, as when read whole", (t) => {
  const items = Array.from({ length: 400 }, (_, i) => egress(`w${i}`));
  (items[371] as ReturnType<typeof egress>).status.destinations[0]!.lastSeen = "soon";
  const l = { apiVersion: "v1", items, kind: "List" };
  for (const text of [
    JSON.stringify(l, null, 4),
    dump(l, { seqNoIndent: true, sortKeys: true, lineWidth: -1 }),
  ]) {
    const expected = t.throws(() => whole(text, "snap.txt"), { instanceOf: InputError });
    const got = t.throws(() => streamed(text, [4096], "snap.txt"), { instanceOf: InputError });
    t.is(got?.message, expected?.message);
    t.regex(
      got?.message ?? "",
      /^snap\.txt:\d+: items\[371\]\.status\.destinations\[0\]\.lastSeen: "soon"/,
    );
  }
});

test("a YAML item read in pieces has the whole text's lines and limits, however its entry is written", (t) => {
  const item = (name: string) =>
    dump([egress(name)], { lineWidth: -1 })
      .split("\n")
      .map((line) => (line ? `  ${line}` : line))
      .join("\n");
  // "-" alone on its line, and "- # comment": the item starts on the line after the entry's.
  const entries = [
    item("a"),
    item("b").replace(/^ {2}- /, "  -\n    "),
    item("c").replace(/^ {2}- /, "  - # the third\n    "),
  ];
  const text = `apiVersion: v1\nkind: List\nitems:\n${entries.join("")}`;
  t.truthy(streamed(text, [64]), "split");
  t.deepEqual(view(streamed(text, [64]) ?? []), view(whole(text)));
  // Nested deeper than the event parser allows: refused the same way, split or whole.
  const deep = `${"[".repeat(70)}1${"]".repeat(70)}`;
  const nested = `apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x}\n  data: ${deep}\n`;
  const expected = t.throws(() => whole(nested, "snap"));
  t.regex(expected?.message ?? "", /nesting exceeded maxDepth \(64\)/);
  const got = t.throws(() => observedOfSnapshotText(nested, "snap"));
  t.is(got?.message, expected?.message);
});

test("a YAML entry with a wildcard domain is read in one pass; one with an anchor, alias or tag by the event parser", (t) => {
  // What kubectl writes for a declared wildcard: quoted, as js-yaml and Go's yaml write it.
  const wildcard = [
    `- apiVersion: v1`,
    `  kind: ConfigMap`,
    `  data: {a: "*.example.com", b: '*.b.example.com', c: x*y!z&w, d: "&x"}`,
    `  list:`,
    `  - "*.c.example.com"`,
    "",
  ].join("\n");
  const read = plainEntry(wildcard);
  t.truthy(read, "read by load");
  t.deepEqual(read?.[0], (parseYamlDocuments(wildcard, "snap")[0]?.value as unknown[])[0]);
  // Whatever load would expand or resolve unguarded goes the other way (the event parser
  // counts aliases and refuses a bomb).
  for (const entry of [
    "- &a [x]",
    "- {a: &a [x], b: *a}",
    "- [&a x, *a]",
    "- [x,*a]",
    '- {"k":*a}',
    "- k: !!str 1",
    "- k:\n  - *a",
    "- k: [x,\t!!int 1]",
    "- ? *a\n  : x",
  ]) {
    t.is(plainEntry(entry), undefined, entry);
  }
});

test("a YAML syntax error inside an item is the whole text's error", (t) => {
  const text =
    `${dump({ apiVersion: "v1", kind: "List", items: [egress("a"), egress("b")] }, { seqNoIndent: true })}`.replace(
      "name: b",
      "name: [b",
    );
  const expected = t.throws(() => whole(text), { instanceOf: InputError });
  t.is(streamed(text, [64]), undefined);
  t.is(
    t.throws(() => observedOfSnapshotText(text, "snap"), { instanceOf: InputError })?.message,
    expected?.message,
  );
});

test("an empty List is taken at its word; a List of other kinds says what it held", (t) => {
  t.deepEqual(streamed(JSON.stringify({ kind: "List", items: [] }, null, 4), [3]), []);
  const configs = dump(
    { apiVersion: "v1", kind: "List", items: [{ apiVersion: "v1", kind: "ConfigMap" }] },
    { seqNoIndent: true },
  );
  t.throws(() => streamed(configs, [5]), {
    message: "snap: no ObservedEgress objects (found ConfigMap v1)",
  });
});

test("what is held of a YAML snapshot does not keep its text", (t) => {
  // js-yaml's strings are slices of the text they were read from; V8 keeps the whole text alive
  // for any slice that is held. Measured in a process of its own, with a collector to call.
  const reader = fileURLToPath(new URL("../src/observed-snapshot.js", import.meta.url));
  const script = `
    const { SnapshotReader } = await import(${JSON.stringify(reader)});
    const item = (i) => [
      "- apiVersion: egress.otter.dev/v1alpha1", "  kind: ObservedEgress",
      "  metadata: {name: workload-number-" + i + ", namespace: team-" + (i % 7) + "}",
      "  spec: {workload: {name: workload-number-" + i + ", kind: Deployment}}",
      "  status:", "    destinations:",
      ...Array.from({ length: 20 }, (_, d) => "    - internet: {dnsName: api-" + d + ".vendor-" + i + ".example.com, ips: [10.1" + (i % 90) + ".1" + (d % 90) + ".1" + (d % 90) + "], ports: [443]}\\n      lastSeen: \\"2026-11-25T09:00:00Z\\""),
      "    - internet: {ips: [192.168.100.1" + (i % 90) + "]}\\n      lastSeen: \\"2026-11-25T09:00:00Z\\"",
      "      " + "# padding ".repeat(200),
    ].join("\\n");
    const text = "apiVersion: v1\\nkind: List\\nitems:\\n" + Array.from({ length: 3000 }, (_, i) => item(i)).join("\\n") + "\\n";
    globalThis.gc(); const before = process.memoryUsage().heapUsed;
    const reader = new SnapshotReader("s");
    for (let at = 0; at < text.length; at += 65536) if (!reader.push((" " + text.slice(at, at + 65536)).slice(1))) throw new Error("read whole");
    const held = reader.end();
    globalThis.gc();
    console.log(JSON.stringify({ held: held.length, bytes: process.memoryUsage().heapUsed - before, text: text.length }));
  `;
  const r = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  t.is(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout) as { held: number; bytes: number; text: number };
  t.is(m.held, 3000);
  t.true(
    m.bytes < m.text / 2,
    `held ${(m.bytes / 1048576).toFixed(1)} MiB for a text of ${(m.text / 1048576).toFixed(1)} MiB`,
  );
});

test("a snapshot from a pipe (--observed <(kubectl get …)) is read once, whatever its layout", async (t) => {
  const { execFileSync } = await import("node:child_process");
  const { mkdtempSync, rmSync, promises } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { runCli } = await import("./helpers/cli.js");
  const dir = mkdtempSync(join(tmpdir(), "otter-fifo-"));
  try {
    const fifo = join(dir, "observed.yaml");
    execFileSync("mkfifo", [fifo]);
    // What kubectl prints for a cluster without ObservedEgress: a YAML layout read whole.
    const empty = 'apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: ""\n';
    const [run] = await Promise.all([
      runCli(["egress", "list", "-A", "--observed", fifo, "-o", "json"]),
      promises.writeFile(fifo, empty),
    ]);
    t.is(run.code, 0, run.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a chunk that decodes to nothing between a carriage return and its line feed splits as before", (t) => {
  const text = dump(
    { apiVersion: "v1", kind: "List", items: [egress("a"), egress("b")] },
    { seqNoIndent: true },
  ).replace(/\n/g, "\r\n");
  const reader = new SnapshotReader("snap");
  const cut = text.indexOf("\r\n", 40) + 1;
  t.true(reader.push(text.slice(0, cut)));
  t.true(reader.push(""), "an empty chunk is no line break");
  t.true(reader.push(text.slice(cut)));
  t.deepEqual(view(reader.end() ?? []), view(whole(text)));
});
