import { load } from "js-yaml";
import { InputError } from "./errors.js";
import { isList, ofKind, otherObjects } from "./k8s-objects.js";
import {
  OBSERVED_GROUP,
  observedOfSnapshot,
  readObservedEgress,
  snapshotObserved,
  type ObservedWorkload,
} from "./observed-egress.js";
import { asObject, type Obj } from "./shape.js";
import { ListSplitter, WHOLE, type SnapshotFormat, type SnapshotPiece } from "./snapshot-split.js";
import {
  MAX_DEPTH,
  objectDocument,
  parseYamlDocuments,
  type PathSegment,
  type YamlDocument,
} from "./yaml-documents.js";

/**
 * A snapshot's ObservedEgress read one item at a time, as its text arrives (ADR 15): what is
 * held is what the verdicts need, never the snapshot's text or its whole parse. The result is
 * what observedOfSnapshot gives for the whole text; where the split cannot promise that (see
 * ListSplitter), `push` or `end` says so and the caller reads the text whole.
 */

const wanted = ofKind(OBSERVED_GROUP, "ObservedEgress");

/**
 * An item as a document of the List: its paths are the List's (["items", n, …]), its lines
 * the file's. `inner` is the piece's own parse, where the item sits at `at`.
 */
function itemDocument(
  file: string,
  line: number,
  value: unknown,
  at: readonly PathSegment[],
  inner: () => YamlDocument | undefined,
): YamlDocument {
  const within = (path: readonly PathSegment[]) => [...at, ...path.slice(2)];
  return {
    file,
    line,
    value,
    lineOf: (path) => (path.length <= 2 ? line : (inner()?.lineOf(within(path)) ?? line)),
    itemLines: (path) => inner()?.itemLines(within(path)) ?? [],
  };
}

const PROPERTY_START = /[&*!]/g;
/** What a node (and so an anchor, alias or tag) can follow: white space, a flow indicator, ":". */
const BEFORE_NODE = /[\s[{,:?-]/;

/**
 * Whether an anchor, an alias or a tag could be in the text: a "&", "*" or "!" at its start
 * or where a node can start. Anywhere else ("*.example.com" quoted, as a wildcard domain is
 * written) they are characters of a scalar. (They are rare: looked for first.)
 */
function mayHaveNodeProperty(text: string): boolean {
  PROPERTY_START.lastIndex = 0;
  for (let m = PROPERTY_START.exec(text); m; m = PROPERTY_START.exec(text)) {
    if (m.index === 0 || BEFORE_NODE.test(text.charAt(m.index - 1))) return true;
  }
  return false;
}

/**
 * An entry as kubectl writes it (no anchor, alias or tag) read by js-yaml's load, in one pass:
 * the event parser that gives positions (ADR 3) takes about twice as long, and positions are
 * looked for only for an error or a finding's line. Anything else, or what load refuses, goes
 * through the event parser, with its guards (aliases counted) and its errors.
 */
export function plainEntry(text: string): [unknown] | undefined {
  if (mayHaveNodeProperty(text)) return undefined;
  // The item's line is the piece's only when the item starts on the entry's line ("- key: …");
  // an entry whose item starts on the next line ("-" alone, or "- # …") goes the other way.
  if (!/^ *- +[^\s#]/.test(text)) return undefined;
  let value: unknown;
  try {
    value = load(text, { maxDepth: MAX_DEPTH });
  } catch {
    return undefined;
  }
  return Array.isArray(value) && value.length === 1 ? [value[0]] : undefined;
}

export class SnapshotReader {
  private readonly splitter = new ListSplitter();
  private readonly found: ObservedWorkload[] = [];
  /** Kinds of the other items, for the error of a snapshot without ObservedEgress. */
  private readonly others = new Set<string>();
  private items = 0;
  /** The first item that is not a valid ObservedEgress: thrown once the List is known. */
  private invalid: InputError | undefined;
  private whole = false;

  constructor(private readonly file: string) {}

  /** Feeds the next text; false when the snapshot must be read whole instead. */
  push(text: string): boolean {
    if (this.whole) return false;
    const pieces = this.splitter.push(text);
    this.whole = pieces === WHOLE || !pieces.every((p) => this.item(p));
    return !this.whole;
  }

  /** Every ObservedEgress, once the text has ended; undefined: read the snapshot whole. */
  end(): ObservedWorkload[] | undefined {
    if (this.whole) return undefined;
    const last = this.splitter.end();
    if (last === WHOLE || !last.pieces.every((p) => this.item(p))) return undefined;
    if (!this.isList(last.envelope)) return undefined;
    // An item is judged as part of a List only once the List is known to be one.
    if (this.invalid) throw this.invalid;
    const others = { kinds: [...this.others], emptyList: this.items === 0 };
    return snapshotObserved(this.found, others, this.file);
  }

  private get format(): SnapshotFormat {
    return this.splitter.format ?? "yaml";
  }

  /** Reads one item; false when its text does not parse alone (then the split was wrong). */
  private item(piece: SnapshotPiece): boolean {
    this.items++;
    let value: unknown;
    let line = piece.line;
    // Lines inside an item read without positions are looked for only for an error or a
    // finding's line: by parsing its text again then.
    let later: YamlDocument | undefined;
    let inner = () => (later ??= parseYamlDocuments(piece.text, this.file, piece.line)[0]);
    let at: PathSegment[];
    if (this.format === "json") {
      try {
        value = JSON.parse(piece.text);
      } catch {
        return false;
      }
      at = [];
    } else {
      const plain = plainEntry(piece.text);
      if (plain) {
        // The piece starts at its entry's "- ": the item's line is the piece's.
        value = plain[0];
      } else {
        let docs: YamlDocument[];
        try {
          docs = parseYamlDocuments(piece.text, this.file, piece.line);
        } catch {
          return false;
        }
        const doc = docs[0];
        if (docs.length !== 1 || !doc || !Array.isArray(doc.value) || doc.value.length !== 1) {
          return false;
        }
        value = doc.value[0];
        line = doc.itemLines([])[0] ?? line;
        inner = () => doc;
      }
      at = [0];
    }
    if (this.invalid) return true;
    const obj = asObject(value);
    if (obj && wanted(obj)) {
      const doc = itemDocument(this.file, line, obj, at, inner);
      try {
        this.found.push(readObservedEgress(doc, obj, ["items", piece.index], line));
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        this.invalid = e;
      }
    } else {
      for (const kind of otherObjects([objectDocument(value, this.file)], wanted).kinds) {
        this.others.add(kind);
      }
    }
    return true;
  }

  /** Whether the text around the items is one List, whose items are exactly the pieces. */
  private isList(envelope: string): boolean {
    let list: Obj | undefined;
    if (this.format === "json") {
      // The one "items" is the array split (JSON.parse would keep the last of two), and no
      // key is spelled with escapes ("\u0069tems").
      if (envelope.split('"items"').length !== 2 || envelope.includes("\\")) return false;
      try {
        list = asObject(JSON.parse(envelope));
      } catch {
        return false;
      }
      if (!list || !Array.isArray(list.items) || list.items.length !== 0) return false;
    } else {
      let docs: YamlDocument[];
      try {
        docs = parseYamlDocuments(envelope, this.file);
      } catch {
        return false;
      }
      list = docs.length === 1 ? asObject(docs[0]?.value) : undefined;
      if (!list || !("items" in list) || list.items !== null) return false;
    }
    return isList(list) && !wanted(list);
  }
}

/** The ObservedEgress of a snapshot's whole text (stdin): split when it can be, as a file is. */
export function observedOfSnapshotText(text: string, file: string): ObservedWorkload[] {
  const reader = new SnapshotReader(file);
  const found = reader.push(text) ? reader.end() : undefined;
  return found ?? observedOfSnapshot(text, file);
}
