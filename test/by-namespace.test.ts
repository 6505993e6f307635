import test from "ava";
import fc from "fast-check";
import { byNamespace, UnorderedList } from "../src/by-namespace.js";

/**
 * Two key-ordered lists read page by page and joined by namespace: each namespace once, whole,
 * in order, as soon as both lists have moved past it; a list out of key order is refused.
 */

interface Item {
  readonly ns: string;
  readonly n: number;
}

/** A list's pages as the API server would send them, counting the pages read. */
function pagesOf(items: readonly Item[], cuts: readonly number[], read: { pages: number }) {
  const at = [...new Set(cuts.map((c) => 1 + (c % Math.max(1, items.length))))]
    .filter((c) => c < items.length)
    .sort((a, b) => a - b);
  const bounds = [0, ...at, items.length];
  const pages = bounds.slice(1).map((end, i) => items.slice(bounds[i], end));
  return (async function* () {
    for (const page of pages) {
      read.pages++;
      yield page;
    }
  })();
}

const NAMESPACES = ["a", "a-1", "b", "b0", "team", "team-1", "team-10", "team-2", "z"];
/** Key order: the API server's, "<namespace>/<name>" ("a-1/…" before "a/…"). */
const byKey = (x: string, y: string) => (`${x}/` < `${y}/` ? -1 : `${x}/` > `${y}/` ? 1 : 0);
const sortedList = fc
  .array(fc.constantFrom(...NAMESPACES), { maxLength: 30 })
  .map((nss) => [...nss].sort(byKey).map((ns, n) => ({ ns, n })));

const ns = (i: Item) => i.ns;

test("property: every namespace once, in key order, with all of its objects from both lists", async (t) => {
  await fc.assert(
    fc.asyncProperty(
      sortedList,
      sortedList,
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      async (as, bs, cutsA, cutsB) => {
        const groups = [];
        for await (const g of byNamespace(
          pagesOf(as, cutsA, { pages: 0 }),
          pagesOf(bs, cutsB, { pages: 0 }),
          ns,
          ns,
        )) {
          groups.push(g);
        }
        const expected = [...new Set([...as, ...bs].map(ns))].sort(byKey).map((namespace) => ({
          namespace,
          a: as.filter((i) => i.ns === namespace),
          b: bs.filter((i) => i.ns === namespace),
        }));
        t.deepEqual(groups, expected);
      },
    ),
  );
});

test("a namespace is handed on before the rest of the lists is read", async (t) => {
  const as = ["a", "a", "b", "c", "d"].map((ns, n) => ({ ns, n }));
  const bs = ["a", "b", "b", "c", "d"].map((ns, n) => ({ ns, n }));
  const readA = { pages: 0 };
  const readB = { pages: 0 };
  // One object a page: "a" is complete once each list has shown something past it.
  const groups = byNamespace(
    pagesOf(as, [1, 2, 3, 4], readA),
    pagesOf(bs, [1, 2, 3, 4], readB),
    ns,
    ns,
  );
  const first = await groups.next();
  t.is(first.value?.namespace, "a");
  t.deepEqual(first.value?.a.length, 2);
  t.true(readA.pages <= 3 && readB.pages <= 2, `read ${readA.pages} and ${readB.pages} pages`);
  await groups.return(undefined);
});

test("a list that goes back to a namespace it left is refused, and both lists are closed", async (t) => {
  let closed = 0;
  const list = (nss: string[]) =>
    (async function* () {
      try {
        for (const ns of nss) yield [{ ns, n: 0 }];
      } finally {
        closed++;
      }
    })();
  const groups = byNamespace(list(["a", "c", "b"]), list(["a", "b", "c", "d"]), ns, ns);
  const error = await t.throwsAsync(async () => {
    for await (const _ of groups) {
      // Read to the end.
    }
  });
  t.true(error instanceof UnorderedList);
  t.regex(error?.message ?? "", /went back to namespace "b" after "c"/);
  t.is(closed, 2);
});
