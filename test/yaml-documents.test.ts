import test from "ava";
import { InputError } from "../src/errors.js";
import { parseYamlDocuments } from "../src/yaml-documents.js";

test("multi-document streams keep each document's line; empty documents are dropped", (t) => {
  const docs = parseYamlDocuments(
    "---\n# empty\n---\na: 1\n---\n\nb:\n  - x\n  - y: 2\n",
    "s.yaml",
  );
  t.deepEqual(
    docs.map((d) => [d.line, d.value]),
    [
      [4, { a: 1 }],
      [7, { b: ["x", { y: 2 }] }],
    ],
  );
  t.is(docs[1]?.lineOf(["b", 1]), 9);
  t.is(docs[1]?.lineOf(["b", 1, "y"]), 9);
  t.is(
    docs[1]?.lineOf(["b", 7, "z"]),
    8,
    "a path that does not exist falls back to its nearest ancestor",
  );
});

test("JSON is YAML too", (t) => {
  const [doc] = parseYamlDocuments('{\n  "a": [1,\n  {"b": 2}]\n}\n', "x.json");
  t.deepEqual(doc?.value, { a: [1, { b: 2 }] });
  t.is(doc?.lineOf(["a", 1]), 3);
});

test("unparseable YAML is an InputError naming file and line", (t) => {
  const e = t.throws(() => parseYamlDocuments("a: 1\nb: [\n", "bad.yaml"), {
    instanceOf: InputError,
  });
  t.regex(e?.message ?? "", /^bad\.yaml:3: invalid YAML: /);
  t.false((e?.message ?? "").includes("\n"), "one line");
});

test("duplicate keys are refused", (t) => {
  t.throws(() => parseYamlDocuments("a: 1\na: 2\n", "dup.yaml"), {
    instanceOf: InputError,
    message: /dup\.yaml:2: invalid YAML: duplicated mapping key/,
  });
});

test("an alias bomb is refused quickly and clearly", (t) => {
  const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    levels.push(`${name}: &${name} [${new Array(10).fill(`*${prev}`).join(", ")}]`);
  }
  const started = Date.now();
  const e = t.throws(() => parseYamlDocuments(`${levels.join("\n")}\n`, "bomb.yaml"), {
    instanceOf: InputError,
  });
  t.regex(e?.message ?? "", /^bomb\.yaml:1: YAML aliases expand to more than 1000000 nodes/);
  t.true(Date.now() - started < 2000);
});

test("a few ordinary aliases are fine", (t) => {
  const [doc] = parseYamlDocuments("base: &p [443]\nx: {ports: *p}\ny: {ports: *p}\n", "ok.yaml");
  t.deepEqual(doc?.value, { base: [443], x: { ports: [443] }, y: { ports: [443] } });
});

test("very deep nesting is refused, not a stack overflow", (t) => {
  t.throws(() => parseYamlDocuments("[".repeat(5000) + "]".repeat(5000), "deep.yaml"), {
    instanceOf: InputError,
  });
});
