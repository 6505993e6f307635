import { constants, deflateRawSync, inflateRawSync } from "node:zlib";

/**
 * Text kept compressed until it can be written, in named segments written back in any order:
 * a report's workloads wait for its summary, which is known only once every namespace has been
 * judged, and the namespaces arrive in key order, not in the report's (ADR 17). A report is
 * repetitive JSON: the 148 MB of 10,000 workloads keep as about 5 MB.
 */
export class TextSpool {
  private pending: string[] = [];
  private pendingChars = 0;
  private blocks: Uint8Array[] = [];
  /** Where each segment is: from (block, character) to (block, character), end excluded. */
  private readonly segments = new Map<string, { from: Place; to: Place }>();
  private open: { name: string; from: Place } | undefined;

  /**
   * Blocks are small: a block read back is garbage once written, and small strings are
   * collected with the young generation. (A large buffer is freed only when V8 next collects,
   * and output allocates so little that a whole report's would pile up first.)
   */
  constructor(private readonly blockChars = 64 << 10) {}

  /** Starts a segment: what is added until the next one is its text. */
  begin(name: string): void {
    this.close();
    this.open = { name, from: this.here() };
  }

  add(text: string): void {
    this.pending.push(text);
    this.pendingChars += text.length;
    if (this.pendingChars >= this.blockChars) this.seal();
  }

  /** The segments' names, in the order they were begun. */
  names(): string[] {
    this.close();
    return [...this.segments.keys()];
  }

  /**
   * The segments' text, in the order asked for, a piece at a time (`first`: a segment's first
   * piece; an empty segment has none).
   */
  *read(names: readonly string[]): Generator<{ readonly text: string; readonly first: boolean }> {
    this.close();
    this.seal();
    let cached: { index: number; text: string } | undefined;
    const block = (index: number) => {
      if (cached?.index !== index) {
        cached = { index, text: inflateRawSync(this.blocks[index] as Uint8Array).toString() };
      }
      return cached.text;
    };
    for (const name of names) {
      const segment = this.segments.get(name);
      if (!segment) continue;
      const { from, to } = segment;
      let first = true;
      for (let i = from.block; i <= to.block && i < this.blocks.length; i++) {
        const text = block(i);
        const piece = text.slice(
          i === from.block ? from.at : 0,
          i === to.block ? to.at : undefined,
        );
        if (piece === "") continue;
        yield { text: piece, first };
        first = false;
      }
    }
  }

  private here(): Place {
    return { block: this.blocks.length, at: this.pendingChars };
  }

  private close(): void {
    if (!this.open) return;
    this.segments.set(this.open.name, { from: this.open.from, to: this.here() });
    this.open = undefined;
  }

  private seal(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join("");
    this.pending = [];
    this.pendingChars = 0;
    // Copied out: zlib's result is a view of a larger buffer, which it would keep.
    this.blocks.push(new Uint8Array(deflateRawSync(text, { level: constants.Z_BEST_SPEED })));
  }
}

interface Place {
  readonly block: number;
  /** Characters into the block's text. */
  readonly at: number;
}
