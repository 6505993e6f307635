import { EVENT_ID, getScalarValue, parseEvents, type Event } from "js-yaml";

/**
 * A YAML text as a tree of nodes that know where they are written: the raw range of every
 * scalar (quotes included) and collection (brackets included), and whether a collection is
 * written in block or flow style. `--fix` edits the text through these ranges, so everything
 * it does not touch stays byte for byte as it was.
 */

export interface ScalarNode {
  readonly kind: "scalar";
  readonly start: number;
  readonly end: number;
  readonly value: string;
}

export interface SeqNode {
  readonly kind: "seq";
  readonly start: number;
  end: number;
  readonly flow: boolean;
  readonly items: YamlNode[];
}

export interface MapEntry {
  readonly key: YamlNode;
  readonly value: YamlNode;
}

export interface MapNode {
  readonly kind: "map";
  readonly start: number;
  end: number;
  readonly flow: boolean;
  readonly entries: MapEntry[];
}

export interface OtherNode {
  readonly kind: "alias";
  readonly start: number;
  readonly end: number;
}

export type YamlNode = ScalarNode | SeqNode | MapNode | OtherNode;

const FLOW = 2;

/** Past the bracket that closes a flow collection whose last content ends at `from`. */
function closingBracket(text: string, from: number, close: string): number {
  let i = from;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === close) return i + 1;
    if (c === "#") {
      const nl = text.indexOf("\n", i);
      i = nl < 0 ? text.length : nl;
      continue;
    }
    i++;
  }
  return text.length;
}

function quoted(text: string, ev: Event & { type: typeof EVENT_ID.SCALAR }): [number, number] {
  const before = text[ev.valueStart - 1];
  if ((before === '"' || before === "'") && text[ev.valueEnd] === before) {
    return [ev.valueStart - 1, ev.valueEnd + 1];
  }
  return [ev.valueStart, ev.valueEnd];
}

/** The root node of every document of the text (null for an empty document). */
export function yamlTree(text: string): Array<YamlNode | null> {
  const events = parseEvents(text, { maxDepth: 64 });
  const docs: Array<YamlNode | null> = [];
  const stack: Array<SeqNode | MapNode> = [];
  /** For each open collection, the key it is the value of (restored when it closes). */
  const keys: Array<YamlNode | undefined> = [];
  let pendingKey: YamlNode | undefined;
  let root: YamlNode | null = null;
  /** Where the last node placed ends (an empty scalar is put there). */
  let lastEnd = 0;
  const place = (node: YamlNode) => {
    lastEnd = Math.max(lastEnd, node.end);
    const parent = stack[stack.length - 1];
    if (!parent) {
      root = node;
      return;
    }
    if (parent.kind === "seq") parent.items.push(node);
    else if (pendingKey === undefined) pendingKey = node;
    else {
      parent.entries.push({ key: pendingKey, value: node });
      pendingKey = undefined;
    }
  };
  for (const ev of events) {
    switch (ev.type) {
      case EVENT_ID.DOCUMENT:
        root = null;
        break;
      case EVENT_ID.SCALAR: {
        // An empty value (`ports:`) has no range: it sits where the text before it ends.
        const [start, end] = ev.valueStart < 0 ? [lastEnd, lastEnd] : quoted(text, ev);
        place({ kind: "scalar", start, end, value: getScalarValue(text, ev) });
        break;
      }
      case EVENT_ID.ALIAS:
        place({ kind: "alias", start: ev.anchorStart - 1, end: ev.anchorEnd });
        break;
      case EVENT_ID.SEQUENCE:
      case EVENT_ID.MAPPING: {
        const flow = ev.style === FLOW;
        const node: SeqNode | MapNode =
          ev.type === EVENT_ID.SEQUENCE
            ? { kind: "seq", start: ev.start, end: ev.start, flow, items: [] }
            : { kind: "map", start: ev.start, end: ev.start, flow, entries: [] };
        keys.push(pendingKey);
        pendingKey = undefined;
        stack.push(node);
        break;
      }
      case EVENT_ID.POP: {
        const node = stack.pop();
        if (!node) {
          docs.push(root);
          break;
        }
        const last =
          node.kind === "seq"
            ? node.items[node.items.length - 1]
            : node.entries[node.entries.length - 1]?.value;
        const contentEnd = last ? last.end : node.start + 1;
        node.end = node.flow
          ? closingBracket(text, contentEnd, node.kind === "seq" ? "]" : "}")
          : contentEnd;
        pendingKey = keys.pop();
        place(node);
        break;
      }
    }
  }
  return docs;
}

/** The value at `key` of a mapping node (undefined when absent or not a mapping). */
export function entryOf(node: YamlNode | undefined, key: string): MapEntry | undefined {
  if (node?.kind !== "map") return undefined;
  return node.entries.find((e) => e.key.kind === "scalar" && e.key.value === key);
}

export function valueAt(node: YamlNode | undefined, path: readonly string[]): YamlNode | undefined {
  let at = node;
  for (const key of path) at = entryOf(at, key)?.value;
  return at;
}
