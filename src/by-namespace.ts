/**
 * Two lists read page by page, joined namespace by namespace. The API server lists a
 * namespaced resource in the order of its storage keys (`<namespace>/<name>`), and a paged list
 * continues from the last key it sent; so a namespace is complete in a list once the list has
 * moved past its keys. What a `kubectl otter egress diff -A` of a large cluster then holds is
 * one namespace's objects, not the cluster's (ADR 17).
 *
 * Namespaces are handed on in key order, which is not quite the order of their names:
 * `team-a/…` comes before `team/…` ("-" sorts before "/").
 */

export interface NamespaceGroup<A, B> {
  readonly namespace: string;
  readonly a: A[];
  readonly b: B[];
}

export const UNORDERED = "UnorderedList";

/** A list that went back to a namespace it had left: it is not in key order. */
export class UnorderedList extends Error {
  override readonly name = UNORDERED;
  constructor(namespace: string, after: string) {
    super(`the list went back to namespace "${namespace}" after "${after}"`);
  }
}

/** Where a namespace's objects are in key order: "<namespace>/". */
const keyOf = (namespace: string) => `${namespace}/`;

/** One list being read: its pages, and the key order it has reached. */
class Cursor<T> {
  /** The key of the last object's namespace ("" before any). */
  at = "";
  done = false;
  private readonly pages: AsyncIterator<readonly T[]>;

  constructor(
    pages: AsyncIterable<readonly T[]>,
    private readonly namespaceOf: (item: T) => string,
    private readonly into: (namespace: string, item: T) => void,
  ) {
    this.pages = pages[Symbol.asyncIterator]();
  }

  async read(): Promise<void> {
    const page = await this.pages.next();
    if (page.done) {
      this.done = true;
      return;
    }
    for (const item of page.value) {
      const ns = this.namespaceOf(item);
      const key = keyOf(ns);
      if (key < this.at) throw new UnorderedList(ns, this.at.slice(0, -1));
      this.at = key;
      this.into(ns, item);
    }
  }

  /** Whether this list can hold no more of a namespace. */
  isPast(namespace: string): boolean {
    return this.done || this.at > keyOf(namespace);
  }

  async stop(): Promise<void> {
    await this.pages.return?.();
  }
}

/**
 * The namespaces of two key-ordered lists, each once its objects from both lists have all
 * been read, in key order. Throws UnorderedList when a list is not in key order (then what it
 * yielded cannot be trusted to be whole: read the lists whole instead).
 */
export async function* byNamespace<A, B>(
  as: AsyncIterable<readonly A[]>,
  bs: AsyncIterable<readonly B[]>,
  namespaceOfA: (item: A) => string,
  namespaceOfB: (item: B) => string,
): AsyncGenerator<NamespaceGroup<A, B>> {
  const open = new Map<string, { a: A[]; b: B[] }>();
  const group = (ns: string) => {
    let g = open.get(ns);
    if (!g) open.set(ns, (g = { a: [], b: [] }));
    return g;
  };
  const a = new Cursor(as, namespaceOfA, (ns, item) => group(ns).a.push(item));
  const b = new Cursor(bs, namespaceOfB, (ns, item) => group(ns).b.push(item));
  try {
    while (!a.done || !b.done) {
      // Read the list that is behind, so that the other one's open namespaces close sooner.
      await (!a.done && (b.done || a.at <= b.at) ? a : b).read();
      const complete = [...open.keys()]
        .filter((ns) => a.isPast(ns) && b.isPast(ns))
        .map(keyOf)
        .sort()
        .map((key) => key.slice(0, -1));
      for (const ns of complete) {
        const g = open.get(ns) as { a: A[]; b: B[] };
        open.delete(ns);
        yield { namespace: ns, a: g.a, b: g.b };
      }
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}
