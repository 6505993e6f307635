import {
  constructFromEvents,
  getScalarValue,
  parseEvents,
  EVENT_ID,
  YAMLException,
  type Event,
} from "js-yaml";
import { InputError } from "./errors.js";

/**
 * YAML streams read with js-yaml's event parser, so every document keeps its
 * file and line, and any node in it can be traced back to a line.
 */

export type PathSegment = string | number;

export interface YamlDocument {
  readonly file: string;
  /** 1-based line where the document's content starts. */
  readonly line: number;
  readonly value: unknown;
  /** 1-based line of the node at `path` (or of its nearest ancestor that exists). */
  lineOf(path: readonly PathSegment[]): number;
}

/** Largest number of nodes a document may expand to through aliases (a "billion laughs" guard). */
export const MAX_EXPANDED_NODES = 1_000_000;
const MAX_DEPTH = 64;

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

function lineAt(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function startOf(ev: Event): number {
  switch (ev.type) {
    case EVENT_ID.MAPPING:
    case EVENT_ID.SEQUENCE:
      return ev.start;
    case EVENT_ID.SCALAR:
      return ev.valueStart;
    case EVENT_ID.ALIAS:
      return ev.anchorStart;
    default:
      return -1;
  }
}

/**
 * Refuses documents whose aliases expand to more than MAX_EXPANDED_NODES nodes.
 * js-yaml shares aliased objects instead of copying them, so parsing is cheap, but any
 * later walk of such a document would not be. Cost: one pass over the events.
 */
function guardAliasExpansion(text: string, events: Event[], file: string, starts: () => number[]) {
  const anchorSize = new Map<string, number>();
  // Each open collection: [expanded size so far, anchor name or "", start offset]
  const stack: Array<[number, string, number]> = [];
  let docStart = 0;
  const add = (n: number, at: number) => {
    const top = stack[stack.length - 1];
    if (!top) return;
    top[0] += n;
    if (top[0] > MAX_EXPANDED_NODES) {
      throw new InputError(
        `YAML aliases expand to more than ${MAX_EXPANDED_NODES} nodes (an alias bomb?); refusing the document`,
        { file, line: lineAt(starts(), docStart >= 0 ? docStart : at) },
      );
    }
  };
  for (const ev of events) {
    switch (ev.type) {
      case EVENT_ID.DOCUMENT:
        stack.push([0, "", -1]);
        docStart = -1;
        break;
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        if (docStart < 0) docStart = ev.start;
        const anchor = ev.anchorStart >= 0 ? text.slice(ev.anchorStart, ev.anchorEnd) : "";
        stack.push([1, anchor, ev.start]);
        break;
      }
      case EVENT_ID.SCALAR:
        if (ev.anchorStart >= 0) anchorSize.set(text.slice(ev.anchorStart, ev.anchorEnd), 1);
        add(1, ev.valueStart);
        break;
      case EVENT_ID.ALIAS:
        add(anchorSize.get(text.slice(ev.anchorStart, ev.anchorEnd)) ?? 1, ev.anchorStart);
        break;
      case EVENT_ID.POP: {
        const done = stack.pop();
        if (done && done[1] !== "") anchorSize.set(done[1], done[0]);
        if (done && stack.length > 0) add(done[0], done[2]);
        break;
      }
    }
  }
}

function yamlError(e: unknown, file: string): InputError {
  if (e instanceof YAMLException) {
    const line = e.mark && typeof e.mark.line === "number" ? e.mark.line + 1 : undefined;
    return new InputError(
      `invalid YAML: ${e.reason}`,
      line === undefined ? { file } : { file, line },
    );
  }
  if (e instanceof InputError) return e;
  return new InputError(`invalid YAML: ${e instanceof Error ? e.message : String(e)}`, { file });
}

/** Parses a (multi-document) YAML or JSON text. Empty documents are dropped. */
export function parseYamlDocuments(text: string, file: string): YamlDocument[] {
  let events: Event[];
  let values: unknown[];
  let starts: number[] | undefined;
  const getStarts = () => (starts ??= lineStarts(text));
  try {
    events = parseEvents(text, { filename: file, maxDepth: MAX_DEPTH });
    if (events.some((ev) => ev.type === EVENT_ID.ALIAS)) {
      guardAliasExpansion(text, events, file, getStarts);
    }
    values = constructFromEvents(events, { source: text, filename: file });
  } catch (e) {
    throw yamlError(e, file);
  }

  const docs: YamlDocument[] = [];
  let docIndex = -1;
  for (let i = 0; i < events.length; i++) {
    const ev = events[i] as Event;
    if (ev.type !== EVENT_ID.DOCUMENT) continue;
    docIndex++;
    const value = values[docIndex];
    const first = events[i + 1];
    if (value === null || value === undefined || !first) continue;
    const from = i + 1;
    const rootOffset = startOf(first);
    let paths: Map<string, number> | undefined;
    const line = rootOffset >= 0 ? lineAt(getStarts(), rootOffset) : 1;
    docs.push({
      file,
      line,
      value,
      lineOf(path) {
        paths ??= nodeOffsets(text, events, from);
        for (let n = path.length; n > 0; n--) {
          const offset = paths.get(path.slice(0, n).join("\u0000"));
          if (offset !== undefined) return lineAt(getStarts(), offset);
        }
        return line;
      },
    });
  }
  return docs;
}

interface Frame {
  readonly kind: "map" | "seq";
  readonly path: string | undefined;
  index: number;
  key: string | undefined;
  expectKey: boolean;
}

/** Start offsets of every node of one document, keyed by path ("spec\0targets\03"). */
function nodeOffsets(text: string, events: Event[], from: number): Map<string, number> {
  const out = new Map<string, number>();
  const stack: Frame[] = [];
  const childPath = (): string | undefined => {
    const top = stack[stack.length - 1];
    if (!top) return "";
    if (top.path === undefined) return undefined;
    const seg = top.kind === "seq" ? String(top.index) : top.key;
    if (seg === undefined) return undefined;
    return top.path === "" ? seg : `${top.path}\u0000${seg}`;
  };
  const afterChild = () => {
    const top = stack[stack.length - 1];
    if (!top) return;
    if (top.kind === "seq") top.index++;
    else top.expectKey = !top.expectKey;
  };
  for (let i = from; i < events.length; i++) {
    const ev = events[i] as Event;
    if (ev.type === EVENT_ID.DOCUMENT) break;
    const top = stack[stack.length - 1];
    const isKey = top !== undefined && top.kind === "map" && top.expectKey;
    switch (ev.type) {
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        const path = isKey ? undefined : childPath();
        if (path !== undefined) out.set(path, ev.start);
        if (isKey && top) top.key = undefined;
        stack.push({
          kind: ev.type === EVENT_ID.MAPPING ? "map" : "seq",
          path,
          index: 0,
          key: undefined,
          expectKey: true,
        });
        break;
      }
      case EVENT_ID.SCALAR:
      case EVENT_ID.ALIAS: {
        if (isKey && top) {
          top.key = ev.type === EVENT_ID.SCALAR ? getScalarValue(text, ev) : undefined;
        } else {
          const path = childPath();
          if (path !== undefined) out.set(path, startOf(ev));
        }
        afterChild();
        break;
      }
      case EVENT_ID.POP:
        stack.pop();
        if (stack.length === 0) return out;
        afterChild();
        break;
    }
  }
  return out;
}
