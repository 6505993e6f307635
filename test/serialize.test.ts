import test from "ava";
import fc from "fast-check";
import { jsonWithStreamedArray, renderJson } from "../src/render/serialize.js";

test("property: the streamed JSON is exactly JSON.stringify's, indented by 2", (t) => {
  const json = fc.jsonValue({ maxDepth: 3 });
  fc.assert(
    fc.property(
      fc.dictionary(fc.string(), json, { maxKeys: 4 }),
      fc.array(json, { maxLength: 5 }),
      (head, items) => {
        const streamed = [...jsonWithStreamedArray(head, "workloads", items)].join("");
        return streamed === renderJson({ ...head, workloads: items });
      },
    ),
  );
  t.pass();
});

test("items are built only as they are written", (t) => {
  let built = 0;
  function* items() {
    for (let i = 0; i < 3; i++) {
      built++;
      yield { i };
    }
  }
  const chunks = jsonWithStreamedArray({ kind: "EgressDiff" }, "workloads", items());
  chunks.next();
  t.is(built, 1);
  t.is([...chunks].length, 3);
});
