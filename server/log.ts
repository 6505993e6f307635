/**
 * Structured logs: one JSON object per line on stdout, with the time first. Lines are gathered
 * for up to FLUSH_MS and go out in one write: at thousands of reviews a second, a write per
 * turn of the event loop cost the webhook a system call per review, and woke whatever reads
 * the pipe as often. Past FLUSH_CHARS they are written at once, and whatever is pending is
 * written before the process exits (`process.exit`, or running out of work).
 */

/** How long a line may wait for others: well under what a reader of the log would notice. */
const FLUSH_MS = 50;
/**
 * Text held at most: a quarter of a Linux pipe's buffer. Node writes stdout synchronously, so a
 * write larger than the pipe holds would wait, with the event loop, for the log's reader.
 */
const FLUSH_CHARS = 16_384;

let pending: string[] = [];
let pendingChars = 0;
let timer: NodeJS.Timeout | undefined;

function flush(): void {
  if (timer !== undefined) {
    clearTimeout(timer);
    timer = undefined;
  }
  if (pending.length === 0) return;
  const text = pending.join("");
  pending = [];
  pendingChars = 0;
  process.stdout.write(text);
}

process.on("exit", flush);

export function log(entry: Record<string, unknown>): void {
  const line = `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`;
  pending.push(line);
  pendingChars += line.length;
  if (pendingChars >= FLUSH_CHARS) flush();
  // Not a reason to keep the process alive: on its way out, "exit" writes what is pending.
  else timer ??= setTimeout(flush, FLUSH_MS).unref();
}
