import test from "ava";
import { renderMermaid } from "../helpers/mermaid-render.js";

// The harness must be able to fail as well as pass: one chromium renders a valid flowchart, a
// broken one and a label that tries to close the page's script element, in that order.
test("renderMermaid renders valid diagrams, reports broken ones, and keeps their order", async (t) => {
  const valid = [
    "flowchart LR",
    '  w["dev/joke-worker"] -->|443| d["api.openai.com"]',
    "  linkStyle 0 stroke:#d73a49",
  ].join("\n");
  const broken = "flowchart LR\n  a -->";
  const sneaky = 'flowchart TD\n  x["a </script> b & c < d"] --> y';

  const [first, second, third, ...rest] = await renderMermaid([valid, broken, sneaky]);
  t.deepEqual(rest, []);

  t.true(first?.ok, JSON.stringify(first));
  if (first?.ok) {
    t.regex(first.svg, /^<svg /);
    t.true(first.svg.includes("dev/joke-worker"));
    t.true(first.svg.includes("api.openai.com"));
    t.true(first.svg.includes("#d73a49"));
  }

  t.false(second?.ok, JSON.stringify(second));
  if (second && !second.ok) t.regex(second.error, /Parse error/);

  t.true(third?.ok, JSON.stringify(third));
  if (third?.ok) t.true(third.svg.includes("b &amp; c &lt; d"));
});

test("renderMermaid needs no chromium for an empty batch", async (t) => {
  t.deepEqual(await renderMermaid([]), []);
});
