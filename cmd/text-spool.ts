import { constants, deflateRawSync, inflateRawSync } from "node:zlib";

/**
 * Text kept compressed until it can be written: a report's workloads wait for its summary,
 * which is known only once every namespace has been judged (ADR 17). A report is repetitive
 * JSON: the 148 MB of 10,000 workloads keep as about 5 MB.
 */
export class TextSpool {
  private pending: string[] = [];
  private pendingChars = 0;
  private blocks: Array<{ readonly deflated: Uint8Array; readonly bytes: number }> = [];

  /**
   * Blocks are small: a block read back is garbage once written, and small strings are
   * collected with the young generation. (A large buffer is freed only when V8 next collects,
   * and output allocates so little that a whole report's would pile up first.)
   */
  constructor(private readonly blockChars = 64 << 10) {}

  add(text: string): void {
    this.pending.push(text);
    this.pendingChars += text.length;
    if (this.pendingChars >= this.blockChars) this.seal();
  }

  /** The text in the order it was added, as UTF-8, a block at a time; once. */
  *read(): Generator<Uint8Array> {
    this.seal();
    const blocks = this.blocks;
    this.blocks = [];
    // Inflated into one buffer of the block's size.
    for (const { deflated, bytes } of blocks) {
      yield inflateRawSync(deflated, { chunkSize: Math.max(64, bytes) });
    }
  }

  private seal(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join("");
    this.pending = [];
    this.pendingChars = 0;
    this.blocks.push({
      // Copied out: zlib's result is a view of a larger buffer, which it would keep.
      deflated: new Uint8Array(deflateRawSync(text, { level: constants.Z_BEST_SPEED })),
      bytes: Buffer.byteLength(text, "utf8"),
    });
  }
}
