/**
 * A List snapshot split into its items as its text arrives, so that a snapshot of any size is
 * read one object at a time (ADR 15). Only the layouts kubectl writes are split:
 *  - `-o json`: an object whose `"items": [` array holds one object per indented block, each
 *    closed by a `}` at the indentation of its `{`;
 *  - `-o yaml`: one document with an `items:` key at the left margin, each item a `- ` entry
 *    at one indentation.
 * Anything else (compact JSON, several YAML documents, directives, a List whose items are not
 * where kubectl puts them) gives "whole": the caller reads the text whole, as before. The
 * reader of the pieces checks what the split assumed: every piece parses alone, and the List
 * without its items (the envelope) parses with an empty `items`.
 */

export type SnapshotFormat = "json" | "yaml";

export interface SnapshotPiece {
  /** One item's text: a JSON value, or a YAML sequence of one entry. */
  readonly text: string;
  /** 1-based line of the file where the text starts. */
  readonly line: number;
  /** Its index in the List's items. */
  readonly index: number;
}

/** What follows when the text is not split: read it whole. */
export const WHOLE = "whole";
export type Whole = typeof WHOLE;

/** The most text kept outside the items (a List's header and trailer are a few lines). */
const ENVELOPE_MAX = 1 << 20;

type State = "start" | "head" | "open" | "items" | "tail";

const JSON_ITEMS = /"items"\s*:\s*\[/;
const YAML_ITEMS = /^items:[ \t]*(#.*)?$/;
const BLANK_OR_COMMENT = /^[ \t]*(#.*)?$/;

function countLines(text: string, from = 0, to = text.length): number {
  let n = 0;
  for (let i = text.indexOf("\n", from); i >= 0 && i < to; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

export class ListSplitter {
  format: SnapshotFormat | undefined;
  private state: State = "start";
  private buf = "";
  /** Line of buf[0]. */
  private line = 1;
  private envelope = "";
  private index = 0;
  /** The text so far ends in "\r": the next must start with "\n". */
  private endsInReturn = false;
  /** JSON: what closes an item ("\n" and its indentation, then "}"); YAML: an item's indentation. */
  private mark = "";

  /** Feeds the next text; returns the items it completed, or WHOLE. */
  push(text: string): SnapshotPiece[] | Whole {
    // YAML breaks lines at a lone carriage return too, which the split does not look for.
    if (this.format !== "json" && this.loneReturn(text)) return WHOLE;
    // Joined once into a string of its own: searched a million times, a joined (cons) string
    // would be looked through on every search.
    this.buf = this.buf === "" ? text : ` ${this.buf}${text}`.slice(1);
    return this.run(false);
  }

  /** The end of the text: the last items, and the List without its items. */
  end(): { pieces: SnapshotPiece[]; envelope: string } | Whole {
    if (this.endsInReturn && this.format !== "json") return WHOLE;
    const pieces = this.run(true);
    if (pieces === WHOLE || this.state !== "tail") return WHOLE;
    return { pieces, envelope: this.envelope };
  }

  private run(final: boolean): SnapshotPiece[] | Whole {
    const out: SnapshotPiece[] = [];
    for (;;) {
      const before = this.state;
      const r = this.step(final, out);
      if (r === WHOLE) return WHOLE;
      if (!r && before === this.state) return out;
    }
  }

  /** Consumes buf[0, to) into the envelope (or drops it), counting its lines. */
  private take(to: number, keep: boolean): boolean {
    const text = this.buf.slice(0, to);
    this.line += countLines(text);
    if (keep) {
      this.envelope += text;
      if (this.envelope.length > ENVELOPE_MAX) return false;
    }
    this.buf = this.buf.slice(to);
    return true;
  }

  private piece(to: number, out: SnapshotPiece[]): void {
    const text = this.buf.slice(0, to);
    out.push({ text, line: this.line, index: this.index++ });
    this.line += countLines(text);
    this.buf = this.buf.slice(to);
  }

  /** Whether a "\r" not followed by "\n" is in the text (or across its start). */
  private loneReturn(text: string): boolean {
    // (A chunk may decode to nothing: the start of a character whose rest comes next.)
    if (text === "") return false;
    if (this.endsInReturn && !text.startsWith("\n")) return true;
    for (let i = text.indexOf("\r"); i >= 0 && i < text.length - 1; i = text.indexOf("\r", i + 1)) {
      if (text.charCodeAt(i + 1) !== 10) return true;
    }
    this.endsInReturn = text.endsWith("\r");
    return false;
  }

  /** One step; true when it made progress within its state. */
  private step(final: boolean, out: SnapshotPiece[]): boolean | Whole {
    switch (this.state) {
      case "start": {
        const m = /\S/.exec(this.buf);
        if (!m) return final ? WHOLE : false;
        const c = this.buf[m.index];
        this.format = c === "{" || c === "[" ? "json" : "yaml";
        if (c === "[") return WHOLE;
        this.state = "head";
        return true;
      }
      case "head":
        return this.format === "json" ? this.jsonHead(final) : this.yamlHead(final);
      case "open":
        return this.format === "json" ? this.jsonOpen(final) : this.yamlOpen(final);
      case "items":
        return this.format === "json" ? this.jsonItem(final, out) : this.yamlItem(final, out);
      case "tail":
        return this.tail(final);
    }
  }

  private jsonHead(final: boolean): boolean | Whole {
    const m = JSON_ITEMS.exec(this.buf);
    if (!m) return final || this.buf.length > ENVELOPE_MAX ? WHOLE : false;
    if (!this.take(m.index + m[0].length, true)) return WHOLE;
    this.state = "open";
    return true;
  }

  /** After `[`: an empty array, or the first item, whose indentation every item shares. */
  private jsonOpen(final: boolean): boolean | Whole {
    let i = 0;
    while (i < this.buf.length && isSpace(this.buf.charCodeAt(i))) i++;
    if (i === this.buf.length) return final ? WHOLE : false;
    const c = this.buf[i];
    if (c === "]") {
      if (!this.take(i + 1, true)) return WHOLE;
      this.state = "tail";
      return true;
    }
    const space = this.buf.slice(0, i);
    const newline = space.lastIndexOf("\n");
    if (c !== "{" || newline < 0 || !/^ *$/.test(space.slice(newline + 1))) return WHOLE;
    this.mark = `${space.slice(newline)}}`;
    this.take(i, false);
    this.state = "items";
    return true;
  }

  /**
   * Where the item at buf's start closes: the first `}` after its indentation on a line of its
   * own. Searched brace by brace: a search for the whole mark (mostly spaces) in text that is
   * mostly spaces goes a character at a time.
   */
  private closing(): number {
    const buf = this.buf;
    const indent = this.mark.length - 2;
    for (let i = buf.indexOf("}", indent + 1); i >= 0; i = buf.indexOf("}", i + 1)) {
      // Deeper closes have a space where this one has its line break.
      if (buf.charCodeAt(i - indent - 1) !== 10) continue;
      let j = i - indent;
      while (j < i && buf.charCodeAt(j) === 32) j++;
      if (j === i) return i - indent - 1;
    }
    return -1;
  }

  /** buf starts with an item's `{`. */
  private jsonItem(final: boolean, out: SnapshotPiece[]): boolean | Whole {
    const close = this.closing();
    if (close < 0) return final ? WHOLE : false;
    const end = close + this.mark.length;
    let i = end;
    while (i < this.buf.length && isSpace(this.buf.charCodeAt(i))) i++;
    if (i === this.buf.length) return final ? WHOLE : false;
    const c = this.buf[i];
    if (c === "]") {
      this.piece(end, out);
      if (!this.take(i - end + 1, false)) return WHOLE;
      this.envelope += "]";
      this.state = "tail";
      return true;
    }
    if (c !== ",") return WHOLE;
    let j = i + 1;
    while (j < this.buf.length && isSpace(this.buf.charCodeAt(j))) j++;
    if (j === this.buf.length) return final ? WHOLE : false;
    // The next item starts a line at the first one's indentation.
    const space = this.buf.slice(i + 1, j);
    const newline = space.lastIndexOf("\n");
    if (this.buf[j] !== "{" || newline < 0 || space.slice(newline) !== this.mark.slice(0, -1))
      return WHOLE;
    this.piece(end, out);
    this.take(j - end, false);
    return true;
  }

  /** The next complete line of buf: [its end without the line break, the next line's start]. */
  private nextLine(from: number, final: boolean): [number, number] | undefined {
    const nl = this.buf.indexOf("\n", from);
    if (nl < 0)
      return final && from < this.buf.length ? [this.buf.length, this.buf.length] : undefined;
    return [nl > from && this.buf.charCodeAt(nl - 1) === 13 ? nl - 1 : nl, nl + 1];
  }

  private yamlHead(final: boolean): boolean | Whole {
    const line = this.nextLine(0, final);
    if (!line) return final || this.buf.length > ENVELOPE_MAX ? WHOLE : false;
    const text = this.buf.slice(0, line[0]);
    // Directives could change what the items mean (a %TAG): read such a text whole.
    if (text.startsWith("%")) return WHOLE;
    if (!this.take(line[1], true)) return WHOLE;
    if (YAML_ITEMS.test(text)) this.state = "open";
    return true;
  }

  /** After `items:`: comments and blank lines, then the first entry, whose indentation all share. */
  private yamlOpen(final: boolean): boolean | Whole {
    const line = this.nextLine(0, final);
    if (!line) return final ? WHOLE : false;
    const text = this.buf.slice(0, line[0]);
    if (BLANK_OR_COMMENT.test(text)) return this.take(line[1], true) || WHOLE;
    const m = /^( *)-( |$)/.exec(text);
    if (!m) return WHOLE;
    this.mark = m[1] as string;
    this.state = "items";
    return true;
  }

  /**
   * buf starts with an entry's `-`. The entry runs to the next `-` at its indentation, or to the
   * first line less or as much indented that is not blank or a comment (the List's next key).
   */
  private yamlItem(final: boolean, out: SnapshotPiece[]): boolean | Whole {
    const indent = this.mark.length;
    let at = this.nextLine(0, final);
    while (at) {
      const start = at[1];
      if (start >= this.buf.length) {
        if (!final) return false;
        this.piece(this.buf.length, out);
        this.state = "tail";
        return true;
      }
      const next = this.nextLine(start, final);
      // A line is judged by its first indent + 2 characters: wait for them, or its end.
      if (!next && this.buf.length - start < indent + 2) return false;
      let col = 0;
      while (col <= indent && this.buf.charCodeAt(start + col) === 32) col++;
      if (col <= indent) {
        // Less indented: the whole line says whether the entry goes on.
        if (!next) return false;
        const text = this.buf.slice(start, next[0]);
        if (!BLANK_OR_COMMENT.test(text)) {
          this.piece(start, out);
          if (col === indent && /^ *-( |$)/.test(text)) return true;
          if (col !== 0) return WHOLE;
          this.state = "tail";
          return true;
        }
      }
      if (!next) return false;
      at = next;
    }
    return false;
  }

  /** The rest is the List's trailer (the reader checks that it is one document). */
  private tail(final: boolean): boolean | Whole {
    if (this.buf === "") return false;
    if (!this.take(this.buf.length, true)) return WHOLE;
    return !final;
  }
}
