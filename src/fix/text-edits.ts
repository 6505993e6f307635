import { dump } from "js-yaml";
import type { MapNode, SeqNode, YamlNode } from "./yaml-tree.js";

/**
 * Edits of a YAML text as byte ranges: remove some items of a list or entries of a mapping,
 * append items to a list, in block or flow style. Lines an edit does not name are kept as
 * they are, comments included; a removed item takes the comment lines written just above it.
 */

export interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

/** Offset just past the end of the line holding `offset` (its newline included). */
function lineEnd(text: string, offset: number): number {
  const nl = text.indexOf("\n", offset);
  return nl < 0 ? text.length : nl + 1;
}

function column(text: string, offset: number): number {
  return offset - lineStart(text, offset);
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

function isComment(line: string): boolean {
  return line.trimStart().startsWith("#");
}

/** Where a block sequence item's dash is (the item itself starts after it). */
function dashOf(text: string, item: YamlNode): number {
  let i = item.start - 1;
  while (i >= 0 && (text[i] === " " || text[i] === "\t" || text[i] === "\n")) i--;
  return text[i] === "-" ? i : item.start;
}

/**
 * The whole lines of a block node that starts at `from` (a dash or a key) and ends at `end`:
 * with the comment lines just above it at its own indentation, and the comment lines after it
 * indented deeper than it (they annotate its content).
 */
function blockLines(text: string, from: number, end: number): [number, number] {
  const col = column(text, from);
  let start = lineStart(text, from);
  while (start > 0) {
    const prev = lineStart(text, start - 1);
    const line = text.slice(prev, start - 1);
    if (!isComment(line) || indentOf(line) !== col) break;
    start = prev;
  }
  let stop = lineEnd(text, Math.max(from, end - 1));
  while (stop < text.length) {
    const next = lineEnd(text, stop);
    const line = text.slice(stop, next).replace(/\r?\n$/, "");
    if (!isComment(line) || indentOf(line) <= col) break;
    stop = next;
  }
  return [start, stop];
}

interface Range {
  readonly start: number;
  readonly end: number;
}

/** Whether nothing but indentation comes before `offset` on its line. */
function startsLine(text: string, offset: number): boolean {
  return text.slice(lineStart(text, offset), offset).trim() === "";
}

/** The comma that follows a flow item (skipping spaces and line breaks), or -1. */
function commaAfter(text: string, offset: number): number {
  let i = offset;
  while (i < text.length && /\s/.test(text[i] as string)) i++;
  return text[i] === "," ? i : -1;
}

/**
 * Removes the chosen ranges of a flow collection, with the commas between them. Items written
 * on lines of their own go with their whole lines, comments included, so the comments of the
 * items that stay keep their places.
 */
function flowRemovals(text: string, ranges: readonly Range[], remove: ReadonlySet<number>): Edit[] {
  const kept = ranges.map((_, i) => i).filter((i) => !remove.has(i));
  if (kept.length === 0 && ranges.length > 0) {
    const first = ranges[0] as Range;
    const last = ranges[ranges.length - 1] as Range;
    return [{ start: first.start, end: last.end, text: "" }];
  }
  const edits: Edit[] = [];
  for (let i = 0; i < ranges.length;) {
    if (!remove.has(i)) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < ranges.length && remove.has(j + 1)) j++;
    const first = ranges[i] as Range;
    const last = ranges[j] as Range;
    const next = ranges[j + 1];
    const prev = ranges[i - 1] as Range | undefined;
    const ownLines = startsLine(text, first.start) && (next ? startsLine(text, next.start) : true);
    if (next && ownLines) {
      edits.push({
        start: lineStart(text, first.start),
        end: lineStart(text, next.start),
        text: "",
      });
    } else if (next) {
      edits.push({ start: first.start, end: next.start, text: "" });
    } else if (ownLines && prev && lineEnd(text, prev.end) <= lineStart(text, first.start)) {
      // The last items, on lines of their own: their lines, and the comma after the one before.
      const comma = commaAfter(text, prev.end);
      if (comma >= 0 && comma < first.start) edits.push({ start: comma, end: comma + 1, text: "" });
      const end = lineEnd(text, last.end);
      const closing = text.slice(last.end, end).search(/[\]}]/);
      edits.push({
        start: lineStart(text, first.start),
        end: closing >= 0 ? last.end : end,
        text: "",
      });
    } else {
      edits.push({ start: (prev as Range).end, end: last.end, text: "" });
    }
    i = j + 1;
  }
  return edits;
}

/** Removes items of a sequence (their indexes). */
export function removeItems(text: string, seq: SeqNode, remove: ReadonlySet<number>): Edit[] {
  if (seq.flow) return flowRemovals(text, seq.items, remove);
  return seq.items
    .filter((_, i) => remove.has(i))
    .map((item) => {
      const [start, end] = blockLines(text, dashOf(text, item), item.end);
      return { start, end, text: "" };
    });
}

/** Removes entries of a mapping (their indexes). */
export function removeEntries(text: string, map: MapNode, remove: ReadonlySet<number>): Edit[] {
  const ranges = map.entries.map((e) => ({ start: e.key.start, end: e.value.end }));
  if (map.flow) return flowRemovals(text, ranges, remove);
  return ranges
    .filter((_, i) => remove.has(i))
    .map((r) => {
      const [start, end] = blockLines(text, r.start, r.end);
      return { start, end, text: "" };
    });
}

/** Writes `[]` as the value of a block key whose items are all removed. */
export function emptyValue(text: string, key: YamlNode): Edit {
  const colon = text.indexOf(":", key.end);
  return { start: colon + 1, end: colon + 1, text: " []" };
}

/** How a file indents: spaces per level, and whether a list under a key is indented. */
interface Layout {
  readonly unit: number;
  readonly indentedLists: boolean;
}

function layoutOf(text: string, seq: SeqNode): Layout {
  let unit = 2;
  let indentedLists = true;
  const visit = (node: YamlNode, depth: number) => {
    if (depth > 4 || (node.kind !== "map" && node.kind !== "seq") || node.flow) return;
    if (node.kind === "seq") {
      for (const item of node.items) visit(item, depth + 1);
      return;
    }
    for (const { key, value } of node.entries) {
      if ((value.kind === "map" || value.kind === "seq") && !value.flow) {
        const child = value.kind === "seq" ? dashOf(text, value.items[0] ?? value) : value.start;
        const diff = column(text, child) - column(text, key.start);
        if (value.kind === "map" && diff > 0) unit = diff;
        if (value.kind === "seq") indentedLists = diff > 0;
      }
      visit(value, depth + 1);
    }
  };
  visit(seq, 0);
  return { unit, indentedLists };
}

/** The whitespace that starts the line holding `offset`. */
function indentText(text: string, offset: number): string {
  const start = lineStart(text, offset);
  return /^[ \t]*/.exec(text.slice(start, offset))?.[0] ?? "";
}

/** One level of indentation inside a flow item written over several lines (JSON's), or "  ". */
function flowUnit(text: string, item: YamlNode): string {
  if (item.kind !== "map" || item.entries.length === 0) return "  ";
  const key = (item.entries[0] as { key: YamlNode }).key;
  if (lineStart(text, key.start) === lineStart(text, item.start)) return "  ";
  const outer = indentText(text, item.start);
  const inner = indentText(text, key.start);
  return inner.startsWith(outer) && inner.length > outer.length ? inner.slice(outer.length) : "  ";
}

/** A value as JSON, over lines indented like `like` when that item spans lines. */
function flowJson(text: string, like: YamlNode, value: unknown, indent: string): string {
  const multiLine = lineStart(text, like.end) > lineStart(text, like.start);
  if (!multiLine) return JSON.stringify(value);
  return JSON.stringify(value, null, flowUnit(text, like)).replace(/\n/g, `\n${indent}`);
}

/** Replaces every item of a flow sequence with new ones, laid out like the first old one. */
export function replaceFlowItems(text: string, seq: SeqNode, values: readonly unknown[]): Edit {
  const first = seq.items[0];
  const last = seq.items[seq.items.length - 1];
  if (!first || !last) return appendItems(text, seq, values);
  const ownLine = lineStart(text, first.start) > lineStart(text, seq.start);
  const indent = indentText(text, first.start);
  const rendered = values.map((v) => flowJson(text, first, v, indent));
  return {
    start: first.start,
    end: last.end,
    text: rendered.join(ownLine ? `,\n${indent}` : ", "),
  };
}

/**
 * Replaces the flow items from index `from` to the end with new ones: the list loses its last
 * items and gains others in one edit, after the item before them (whose comma stays).
 */
export function replaceTrailingFlowItems(
  text: string,
  seq: SeqNode,
  from: number,
  values: readonly unknown[],
): Edit {
  const first = seq.items[from] as YamlNode;
  const last = seq.items[seq.items.length - 1] as YamlNode;
  const like = (seq.items[from - 1] ?? first) as YamlNode;
  if (!startsLine(text, first.start)) {
    return {
      start: first.start,
      end: last.end,
      text: values.map((v) => JSON.stringify(v)).join(", "),
    };
  }
  const indent = indentText(text, first.start);
  const items = values.map((v) => `${indent}${flowJson(text, like, v, indent)}`).join(",\n");
  const end = lineEnd(text, last.end);
  const closing = text.slice(last.end, end).search(/[\]}]/);
  return closing >= 0
    ? { start: lineStart(text, first.start), end: last.end, text: items }
    : { start: lineStart(text, first.start), end, text: `${items}\n` };
}

/** Appends items (plain data) at the end of a sequence, in the sequence's own style. */
export function appendItems(text: string, seq: SeqNode, values: readonly unknown[]): Edit {
  const last = seq.items[seq.items.length - 1];
  if (seq.flow) {
    if (!last) {
      return {
        start: seq.start + 1,
        end: seq.start + 1,
        text: values.map((v) => JSON.stringify(v)).join(", "),
      };
    }
    const ownLine =
      lineStart(text, last.start) > lineStart(text, seq.start) && startsLine(text, last.start);
    const indent = indentText(text, last.start);
    if (!ownLine) {
      return {
        start: last.end,
        end: last.end,
        text: values.map((v) => `, ${JSON.stringify(v)}`).join(""),
      };
    }
    // After the last item's line (its comment stays with it), each new item on its own lines.
    const end = lineEnd(text, last.end);
    const closing = text.slice(last.end, end).search(/[\]}]/);
    const items = values.map((v) => `${indent}${flowJson(text, last, v, indent)}`).join(",\n");
    if (closing >= 0) {
      return { start: last.end, end: last.end, text: `,\n${items}` };
    }
    const comma = commaAfter(text, last.end);
    if (comma >= 0 && comma < end) return { start: end, end, text: `${items}\n` };
    return { start: last.end, end: end, text: `,${text.slice(last.end, end)}${items}\n` };
  }
  if (!last) throw new Error("internal error: a block sequence without items");
  const dash = dashOf(text, last);
  const dashCol = column(text, dash);
  const contentCol = column(text, last.start) > dashCol ? column(text, last.start) : dashCol + 2;
  const layout = layoutOf(text, seq);
  // After the last item and the comments that annotate its content.
  const at = blockLines(text, dash, last.end)[1];
  const lines: string[] = [];
  for (const v of values) {
    const body = dump(v, {
      indent: layout.unit,
      seqNoIndent: !layout.indentedLists,
      lineWidth: -1,
      noRefs: true,
    }).replace(/\n$/, "");
    body.split("\n").forEach((line, i) => {
      lines.push(
        i === 0
          ? `${" ".repeat(dashCol)}-${" ".repeat(contentCol - dashCol - 1)}${line}`
          : `${" ".repeat(contentCol)}${line}`,
      );
    });
  }
  const newline = at === text.length && !text.endsWith("\n") ? "\n" : "";
  return { start: at, end: at, text: `${newline}${lines.join("\n")}\n` };
}

/** Applies non-overlapping edits; throws when two overlap (a bug in the plan, not the input). */
export function applyEdits(text: string, edits: readonly Edit[]): string {
  const sorted = [...edits].sort((a, b) => b.start - a.start || b.end - a.end);
  let out = text;
  let limit = Infinity;
  for (const e of sorted) {
    if (e.end > limit) throw new Error("internal error: overlapping edits");
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
    limit = e.start;
  }
  return out;
}
