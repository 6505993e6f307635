import test from "ava";
import fc from "fast-check";
import { InputError } from "../src/errors.js";
import { ListItems, NotAList } from "../src/list-items.js";

/** A List page read as the plugin reads one from the API server: split, item by item. */

const bytes = (text: string) => new TextEncoder().encode(text);

/** The text cut at the given offsets (in bytes: inside a character, an escape, a key). */
function cut(data: Uint8Array, at: readonly number[]): Uint8Array[] {
  const points = [...new Set(at.map((n) => n % (data.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    parts.push(data.subarray(from, p));
    from = p;
  }
  parts.push(data.subarray(from));
  return parts;
}

function split(parts: readonly Uint8Array[]): { items: unknown[]; envelope: unknown } {
  const reader = new ListItems();
  const items: unknown[] = [];
  for (const p of parts) items.push(...reader.push(p));
  return { items, envelope: reader.end() };
}

/** Strings with what a scanner can trip on: quotes, backslashes, brackets, "items", non-ASCII. */
const tricky = fc.oneof(
  fc.string(),
  fc.constantFrom('"', "\\", '\\"', "{", "}]", "[", "items", '"items":[', "é", "𝄞", "\u0000"),
  fc.string({ unit: fc.constantFrom('"', "\\", "{", "}", "[", "]", ",", "i", "ü", "😀") }),
);
const value = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    tricky,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(tricky, tie("value"), { maxKeys: 4 }),
  ),
})).value;
const item = fc.dictionary(tricky, value, { maxKeys: 6 });

test("any List, compact or indented, cut anywhere, gives its items and the rest", (t) => {
  fc.assert(
    fc.property(
      fc.array(item, { maxLength: 8 }),
      fc.dictionary(
        tricky.filter((k) => k !== "items"),
        value,
        { maxKeys: 4 },
      ),
      fc.boolean(),
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 12 }),
      (items, others, first, indented, cuts) => {
        const list = first ? { items, ...others } : { ...others, items };
        const text = JSON.stringify(list, null, indented ? 2 : undefined);
        const got = split(cut(bytes(text), cuts));
        t.deepEqual(got.items, JSON.parse(JSON.stringify(items)));
        t.deepEqual(got.envelope, JSON.parse(JSON.stringify({ ...list, items: [] })));
      },
    ),
  );
});

test("a page as the API server sends it: items one by one, and the continue token", (t) => {
  const page =
    '{"apiVersion":"egress.otter.dev/v1alpha1","items":[' +
    '{"apiVersion":"egress.otter.dev/v1alpha1","kind":"ObservedEgress","metadata":{"name":"a","namespace":"n"},"spec":{"items":[1]}},' +
    '{"apiVersion":"egress.otter.dev/v1alpha1","kind":"ObservedEgress","metadata":{"name":"b","namespace":"n"}}' +
    '],"kind":"ObservedEgressList","metadata":{"continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ","resourceVersion":"42"}}';
  const reader = new ListItems();
  const seen: string[] = [];
  for (const part of cut(bytes(page), [30, 31, 100, 140, 141, 200]))
    for (const o of reader.push(part))
      seen.push((o as { metadata: { name: string } }).metadata.name);
  t.deepEqual(seen, ["a", "b"]);
  t.deepEqual(reader.end(), {
    apiVersion: "egress.otter.dev/v1alpha1",
    items: [],
    kind: "ObservedEgressList",
    metadata: { continue: "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ", resourceVersion: "42" },
  });
});

test("what is not a List of objects is an error, not a partial answer", (t) => {
  const fails = (text: string, message: RegExp) => {
    const reader = new ListItems();
    const e = t.throws(
      () => {
        reader.push(bytes(text));
        reader.end();
      },
      { instanceOf: NotAList },
      text,
    );
    t.regex(e?.message ?? "", message, text);
    t.true(e instanceof InputError);
  };
  fails('{"items":[{"a":1}', /ends before it is complete/);
  fails('{"items":[{"a":"1}]}', /ends before it is complete/);
  fails('{"items":[{"a":1},2]}', /not all objects/);
  fails('{"items":["x"]}', /not all objects/);
  fails('{"items":[[1]]}', /not all objects/);
  fails('{"items":[],"items":[]}', /two "items" keys/);
  fails('{"items":[{"a":1,}]}', /JSON/);
  fails('{"items":[],"kind":}', /JSON/);
  fails('{"items":[]}}', /not one JSON object/);
  fails("null", /not one JSON object/);
  fails("", /not one JSON object/);
  fails('["items",[{"a":1}]]', /not one JSON object/);
  fails('{"items":[{"a":1},]}', /end with a comma/);
  fails('{"items":[,{"a":1}]}', /empty place/);
  fails('{"items":[{"a":1}{"a":2}]}', /lack a comma/);
  fails('{"items":[{"a":1}],"items":null}', /two "items" keys/);
  fails(`{"metadata":"${"x".repeat(2 << 20)}"}`, /more than its items/);
  // Only the List's own key counts: "items" deeper down, or as a value, is left alone.
  const reader = new ListItems();
  t.deepEqual(reader.push(bytes('{"kind":"items","metadata":{"items":[{"a":1}]},"x":[{}]}')), []);
  t.deepEqual(reader.end(), {
    kind: "items",
    metadata: { items: [{ a: 1 }] },
    x: [{}],
  });
});
