import { InputError } from "./errors.js";

/**
 * A JSON List as the API server sends a page of it (`{"apiVersion":…,"items":[{…},…],
 * "kind":…,"metadata":{"continue":…}}`, compact or indented), split into its items as its
 * bytes arrive (ADR 22): a page of 500 ObservedEgress is 12 MB of text and more of objects,
 * and neither is ever held whole. Only strings and nesting are followed; each item, and the List
 * without its items (the envelope, with `"items":[]`), are parsed by JSON.parse, which checks
 * them. An `items` key whose value is not an array of objects, or a second one, is an error.
 */

/** What the bytes are not: a JSON List (with where it went wrong). */
export class NotAList extends InputError {}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new NotAList((e as Error).message);
  }
}

/** The most bytes kept outside the items: a List's envelope is a few hundred. */
const ENVELOPE_MAX = 1 << 20;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const ITEMS = [0x69, 0x74, 0x65, 0x6d, 0x73]; // "items"

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The parts' text: decoded in place when there is one, joined first when there are more. */
function text(parts: readonly Uint8Array[]): string {
  return utf8.decode(parts.length === 1 ? parts[0] : Buffer.concat(parts));
}

const utf8 = new TextDecoder();

export class ListItems {
  private depth = 0;
  private inString = false;
  /** A backslash in a string ended the last chunk: the next byte is escaped. */
  private escaped = false;
  /** The List's opening brace has been read. */
  private started = false;
  /** The next string at depth 1 is a key (after "{" or ","). */
  private keyNext = false;
  /** How much of "items" the key being read matches; -1: it does not (or not a key). */
  private keyMatch = -1;
  /** The List's last key was "items": an array that follows is its items. */
  private itemsKey = false;
  private itemsSeen = false;
  private inItems = false;
  /** In the items: what was last, the array's start, an item or a comma. */
  private between: "first" | "item" | "comma" = "first";
  /** The item being read: its bytes from earlier chunks. */
  private item: Uint8Array[] | undefined;
  private envelope: Uint8Array[] = [];
  private envelopeSize = 0;

  /** The next bytes of the List; returns each item they complete, parsed. */
  push(chunk: Uint8Array): unknown[] {
    const out: unknown[] = [];
    const n = chunk.length;
    /** Where the item being read starts in this chunk. */
    let itemFrom = this.item ? 0 : -1;
    /** Where the chunk's bytes not yet kept for the envelope start (outside items). */
    let envelopeFrom = this.item ? n : 0;
    let i = 0;
    /** The next backslash at or after i (n: none). */
    let slash = -1;
    while (i < n) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          i++;
          continue;
        }
        const quote = chunk.indexOf(QUOTE, i);
        // Found once for the chunk, then again only when passed: searching from each string
        // to the chunk's end would go over the chunk once for every string in it.
        if (slash < i) slash = chunk.indexOf(BACKSLASH, i);
        if (slash < 0) slash = n;
        if (slash < n && (quote < 0 || slash < quote)) {
          this.keyMatch = -1;
          if (slash + 1 < n) i = slash + 2;
          else {
            this.escaped = true;
            i = n;
          }
          continue;
        }
        const end = quote < 0 ? n : quote;
        if (this.keyMatch >= 0) this.matchKey(chunk, i, end);
        if (quote < 0) {
          i = n;
          continue;
        }
        this.inString = false;
        if (this.keyMatch === ITEMS.length) {
          if (this.itemsKey || this.itemsSeen) throw new NotAList('the List has two "items" keys');
          this.itemsKey = this.itemsSeen = true;
        }
        this.keyMatch = -1;
        i = quote + 1;
        continue;
      }
      const c = chunk[i] as number;
      if (this.depth === 0) {
        // One object, with nothing but white space around it.
        if (!isSpace(c)) {
          if (c !== 0x7b || this.started) throw new NotAList("the answer is not one JSON object");
          this.started = true;
          this.keyNext = true;
          this.depth = 1;
        }
      } else if (this.inItems && this.depth === 2 && !this.item) {
        // Between items: an object after "[" or ",", a comma after an object, "]" not after
        // a comma. The commas are dropped from the envelope.
        if (c === 0x7b) {
          if (this.between === "item") throw new NotAList("the List's items lack a comma");
          this.keep(chunk, envelopeFrom, i);
          itemFrom = i;
          this.item = [];
          this.depth++;
        } else if (c === 0x2c) {
          if (this.between !== "item") throw new NotAList("the List's items have an empty place");
          this.keep(chunk, envelopeFrom, i);
          envelopeFrom = i + 1;
          this.between = "comma";
        } else if (c === 0x5d) {
          if (this.between === "comma") throw new NotAList("the List's items end with a comma");
          this.inItems = false;
          this.depth--;
        } else if (!isSpace(c)) throw new NotAList("the List's items are not all objects");
      } else if (c === QUOTE) {
        this.inString = true;
        this.keyMatch = this.depth === 1 && this.keyNext ? 0 : -1;
        if (this.depth === 1) this.keyNext = false;
      } else if (c === 0x7b || c === 0x5b) {
        if (this.depth === 1 && c === 0x5b && this.itemsKey) {
          this.inItems = true;
          this.between = "first";
        }
        this.depth++;
      } else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.item && this.depth === 2) {
          this.item.push(chunk.subarray(itemFrom, i + 1));
          out.push(parsed(text(this.item)));
          this.item = undefined;
          envelopeFrom = i + 1;
          this.between = "item";
        }
      } else if (c === 0x2c && this.depth === 1) {
        this.keyNext = true;
        this.itemsKey = false;
      }
      i++;
    }
    if (this.item) this.item.push(chunk.subarray(itemFrom));
    else this.keep(chunk, envelopeFrom, n);
    return out;
  }

  /** The List without its items, parsed, once all of it has been pushed. */
  end(): unknown {
    if (!this.started) throw new NotAList("the answer is not one JSON object");
    if (this.depth !== 0 || this.inString || this.item)
      throw new NotAList("the List ends before it is complete");
    return parsed(text(this.envelope));
  }

  private matchKey(chunk: Uint8Array, from: number, to: number): void {
    for (let j = from; j < to; j++) {
      if (this.keyMatch < 0) return;
      this.keyMatch = chunk[j] === ITEMS[this.keyMatch] ? this.keyMatch + 1 : -1;
    }
  }

  private keep(chunk: Uint8Array, from: number, to: number): void {
    if (to <= from) return;
    this.envelopeSize += to - from;
    if (this.envelopeSize > ENVELOPE_MAX)
      throw new NotAList("the List holds more than its items and a few fields");
    // A copy: a view would keep the whole chunk.
    this.envelope.push(chunk.slice(from, to));
  }
}
