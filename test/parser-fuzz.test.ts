import { readFileSync } from "node:fs";
import test from "ava";
import fc from "fast-check";
import { dump } from "js-yaml";
import { clientIntentsFromDocuments } from "../src/client-intents.js";
import { InputError } from "../src/errors.js";
import { observedFromDocuments } from "../src/observed-egress.js";
import { parseYamlDocuments } from "../src/yaml-documents.js";

/** Parses like the plugin does; anything thrown must be the typed input error. */
function parseAll(text: string): boolean {
  try {
    const docs = parseYamlDocuments(text, "fuzz.yaml");
    clientIntentsFromDocuments(docs, "default");
    observedFromDocuments(docs);
    return true;
  } catch (e) {
    if (e instanceof InputError) {
      return e.message.startsWith("fuzz.yaml") && !e.message.includes("\n");
    }
    throw e;
  }
}

const seeds = [
  readFileSync("examples/intents/joke-worker.yaml", "utf8"),
  readFileSync("examples/intents/joke-server.yaml", "utf8"),
  readFileSync("examples/observed/snapshot.yaml", "utf8"),
];

const mutation = fc.oneof(
  fc.record({
    op: fc.constant("insert" as const),
    at: fc.nat(),
    text: fc.string({ maxLength: 8 }),
  }),
  fc.record({
    op: fc.constant("delete" as const),
    at: fc.nat(),
    len: fc.integer({ min: 1, max: 12 }),
  }),
  fc.record({ op: fc.constant("swap-lines" as const), at: fc.nat(), to: fc.nat() }),
  fc.record({
    op: fc.constant("token" as const),
    at: fc.nat(),
    text: fc.constantFrom(
      "&a ",
      "*a",
      "- ",
      ": ",
      "{",
      "[",
      "}",
      "]",
      "!!binary ",
      "? ",
      "|",
      ">",
      "'",
      '"',
      "\t",
      "---\n",
      "<<: *a",
      "%YAML 1.2\n",
      "null",
      "~",
      "0x1F",
      "1e400",
      ".nan",
    ),
  }),
);

function mutate(
  text: string,
  muts: Array<{ op: string; at: number; text?: string; len?: number; to?: number }>,
): string {
  let out = text;
  for (const m of muts) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    if (m.op === "insert" || m.op === "token")
      out = out.slice(0, at) + (m.text ?? "") + out.slice(at);
    else if (m.op === "delete") out = out.slice(0, at) + out.slice(at + (m.len ?? 1));
    else {
      const lines = out.split("\n");
      const a = m.at % lines.length;
      const b = (m.to ?? 0) % lines.length;
      [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
      out = lines.join("\n");
    }
  }
  return out;
}

test("property: mutated intents and snapshots never make the parser throw anything but InputError", (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(mutation, { minLength: 1, maxLength: 6 }),
      (seed, muts) => parseAll(mutate(seed, muts)),
    ),
    { numRuns: 2000 },
  );
  t.pass();
});

test("property: random text never makes the parser throw anything but InputError", (t) => {
  fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), parseAll), {
    numRuns: 2000,
  });
  t.pass();
});

test("property: random values in ClientIntents and ObservedEgress shapes give InputError or a result", (t) => {
  const value = fc.anything({ maxDepth: 4 });
  fc.assert(
    fc.property(
      value,
      value,
      fc.constantFrom("v1alpha2", "v1alpha3", "v1beta1", "v2alpha1", "v2beta1"),
      (spec, status, version) => {
        const docs = [
          {
            apiVersion: `k8s.otterize.com/${version}`,
            kind: "ClientIntents",
            metadata: { name: "w" },
            spec,
          },
          {
            apiVersion: "egress.otter.dev/v1alpha1",
            kind: "ObservedEgress",
            metadata: { name: "w", namespace: "d" },
            spec: { workload: { name: "w" } },
            status,
          },
        ];
        let text: string;
        try {
          text = docs.map((d) => `---\n${dump(d, { skipInvalid: true })}`).join("");
        } catch {
          return true; // not representable as YAML
        }
        return parseAll(text);
      },
    ),
    { numRuns: 1000 },
  );
  t.pass();
});

test("an error that quotes a value with a line break is still one line", (t) => {
  const text = readFileSync("examples/observed/snapshot.yaml", "utf8").replace(
    'firstSeen: "2026-11-20T12:00:00Z"',
    'firstSeen: "\\n2026-11-20T12:00:00Z"',
  );
  const e = t.throws(() => observedFromDocuments(parseYamlDocuments(text, "snap.yaml")), {
    instanceOf: InputError,
  });
  t.regex(
    e?.message ?? "",
    /^snap\.yaml:\d+: .*firstSeen: "\\n2026-11-20T12:00:00Z" is not an RFC 3339 timestamp$/,
  );
});

test("a YAML error that quotes a line of the input is still one line", (t) => {
  const text = `!<${readFileSync("examples/intents/joke-worker.yaml", "utf8").replace("\napiVersion", "\n>apiVersion")}`;
  const e = t.throws(() => parseYamlDocuments(text, "fuzz.yaml"), { instanceOf: InputError });
  t.regex(
    e?.message ?? "",
    /^fuzz\.yaml:2: invalid YAML: tag name cannot contain such characters: .*\\n$/,
  );
});
