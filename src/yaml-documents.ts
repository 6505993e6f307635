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
  /** The file, or for an object read from the cluster its kind and name. */
  readonly file: string;
  /** 1-based line where the document's content starts (none for cluster objects). */
  readonly line: number | undefined;
  readonly value: unknown;
  /** 1-based line of the node at `path` (or of its nearest ancestor that exists). */
  lineOf(path: readonly PathSegment[]): number | undefined;
  /**
   * 1-based lines of every item of the sequence at `path`, in one pass; empty for a text too
   * big to keep positions for (then only lineOf, for errors, finds lines).
   */
  itemLines(path: readonly PathSegment[]): Array<number | undefined>;
}

/** An object that came from somewhere other than text (the API server): no lines. */
export function objectDocument(value: unknown, label: string): YamlDocument {
  return {
    file: label,
    line: undefined,
    value,
    lineOf: () => undefined,
    itemLines: () => [],
  };
}

/** Largest number of nodes a document may expand to through aliases (a "billion laughs" guard). */
export const MAX_EXPANDED_NODES = 1_000_000;
export const MAX_DEPTH = 64;

/** Offsets where each line of the text starts. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/** The 1-based line of an offset, given the text's lineStarts. */
export function lineAt(starts: readonly number[], offset: number): number {
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
function guardAliasExpansion(
  text: string,
  events: Event[],
  file: string,
  starts: () => number[],
  shift: number,
) {
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
        { file, line: lineAt(starts(), docStart >= 0 ? docStart : at) + shift },
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

function yamlError(e: unknown, file: string, shift: number): InputError {
  if (e instanceof YAMLException) {
    const line = e.mark && typeof e.mark.line === "number" ? e.mark.line + 1 + shift : undefined;
    return new InputError(
      `invalid YAML: ${e.reason}`,
      line === undefined ? { file } : { file, line },
    );
  }
  if (e instanceof InputError) return e;
  return new InputError(`invalid YAML: ${e instanceof Error ? e.message : String(e)}`, { file });
}

/**
 * Above this size a text's parser events are not kept for finding lines: they take several
 * times the text's memory, and lines in a big snapshot are wanted only for an error. Such a
 * text is parsed again for positions when a line is asked for.
 */
const KEEP_EVENTS_BELOW = 4 << 20;

/**
 * Parses a (multi-document) YAML or JSON text. Empty documents are dropped. A text that is part
 * of a file (a snapshot's item) gives the line where it starts, and its lines are the file's.
 */
export function parseYamlDocuments(text: string, file: string, firstLine = 1): YamlDocument[] {
  return yamlDocuments(text, file, firstLine - 1);
}

/**
 * A snapshot's documents: as parseYamlDocuments, but a text that is one JSON value (what
 * `kubectl get … -o json` saves) is read by JSON.parse. Only for snapshots, which are read,
 * never edited, and which kubectl wrote (no duplicate keys, which JSON.parse would take and
 * YAML refuses).
 */
export function parseSnapshotDocuments(text: string, file: string): YamlDocument[] {
  return jsonDocument(text, file) ?? yamlDocuments(text, file);
}

/**
 * A text that is one JSON value is read by JSON.parse, several times faster than a YAML parser; its positions are found, by reading it as YAML, only when asked
 * for (an error's line, the lines of a small List's items). A text JSON.parse refuses is read as
 * YAML, whose error names the line.
 */
function jsonDocument(text: string, file: string): YamlDocument[] | undefined {
  const start = /\S/.exec(text.length > 256 ? text.slice(0, 256) : text)?.index;
  if (start === undefined) return undefined;
  const first = text[start];
  if (first !== "{" && first !== "[") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  let asYaml: YamlDocument | undefined;
  const yaml = (): YamlDocument | undefined => (asYaml ??= yamlDocuments(text, file)[0]);
  const line = text.slice(0, start).split("\n").length;
  return [
    {
      file,
      line,
      value,
      lineOf: (path) => (path.length === 0 ? line : yaml()?.lineOf(path)),
      // As for YAML, a text too big to keep positions for has no item lines.
      itemLines: (path) => (text.length < KEEP_EVENTS_BELOW ? (yaml()?.itemLines(path) ?? []) : []),
    },
  ];
}

function yamlDocuments(text: string, file: string, shift = 0): YamlDocument[] {
  let parsed: Event[];
  let values: unknown[];
  let starts: number[] | undefined;
  const getStarts = () => (starts ??= lineStarts(text));
  try {
    parsed = parseEvents(text, { filename: file, maxDepth: MAX_DEPTH });
    if (parsed.some((ev) => ev.type === EVENT_ID.ALIAS)) {
      guardAliasExpansion(text, parsed, file, getStarts, shift);
    }
    values = constructFromEvents(parsed, { source: text, filename: file });
  } catch (e) {
    throw yamlError(e, file, shift);
  }
  let kept: Event[] | undefined = text.length < KEEP_EVENTS_BELOW ? parsed : undefined;
  const events = (): Event[] =>
    (kept ??= parseEvents(text, { filename: file, maxDepth: MAX_DEPTH }));

  const docs: YamlDocument[] = [];
  let docIndex = -1;
  for (let i = 0; i < parsed.length; i++) {
    const ev = parsed[i] as Event;
    if (ev.type !== EVENT_ID.DOCUMENT) continue;
    docIndex++;
    const value = values[docIndex];
    const first = parsed[i + 1];
    if (value === null || value === undefined || !first) continue;
    const from = i + 1;
    const rootOffset = startOf(first);
    const line = (rootOffset >= 0 ? lineAt(getStarts(), rootOffset) : 1) + shift;
    docs.push({
      file,
      line,
      value,
      lineOf(path) {
        if (path.length === 0) return line;
        const offset = offsetOf(text, events(), from, path);
        return offset >= 0 ? lineAt(getStarts(), offset) + shift : line;
      },
      itemLines(path) {
        const all = kept;
        if (!all) return [];
        const at = nodeIndex(text, all, from, path);
        if (at < 0 || (all[at] as Event).type !== EVENT_ID.SEQUENCE) return [];
        const lines: number[] = [];
        for (let i = at + 1; (all[i] as Event).type !== EVENT_ID.POP; i = skipNode(all, i)) {
          lines.push(lineAt(getStarts(), startOf(all[i] as Event)) + shift);
        }
        return lines;
      },
    });
  }
  return docs;
}

/** Index just past the node that starts at events[i] (its whole subtree). */
function skipNode(events: Event[], i: number): number {
  let depth = 0;
  do {
    const ev = events[i] as Event;
    if (ev.type === EVENT_ID.MAPPING || ev.type === EVENT_ID.SEQUENCE) depth++;
    else if (ev.type === EVENT_ID.POP) depth--;
    i++;
  } while (depth > 0 && i < events.length);
  return i;
}

/**
 * Start offset of the node at `path` in the document whose root node is events[root], or
 * of its deepest existing ancestor.
 */
function offsetOf(text: string, events: Event[], root: number, path: readonly PathSegment[]) {
  return startOf(events[nodeIndex(text, events, root, path, true)] as Event);
}

/**
 * Index of the event that starts the node at `path` (-1 when absent, or its deepest existing
 * ancestor's when `nearest`). Walks only the levels on the path, allocating nothing.
 */
function nodeIndex(
  text: string,
  events: Event[],
  root: number,
  path: readonly PathSegment[],
  nearest = false,
): number {
  let at = root;
  for (const seg of path) {
    const node = events[at] as Event;
    let i = at + 1;
    let found = -1;
    if (node.type === EVENT_ID.SEQUENCE && typeof seg === "number") {
      for (let n = 0; (events[i] as Event).type !== EVENT_ID.POP; n++) {
        if (n === seg) {
          found = i;
          break;
        }
        i = skipNode(events, i);
      }
    } else if (node.type === EVENT_ID.MAPPING) {
      const want = String(seg);
      while ((events[i] as Event).type !== EVENT_ID.POP) {
        const key = events[i] as Event;
        const value = skipNode(events, i);
        if (key.type === EVENT_ID.SCALAR && getScalarValue(text, key) === want) {
          found = value;
          break;
        }
        i = skipNode(events, value);
      }
    }
    if (found < 0) return nearest ? at : -1;
    at = found;
  }
  return at;
}
