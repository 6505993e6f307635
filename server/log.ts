/**
 * Structured logs: one JSON object per line on stdout, with the time first. Lines are gathered
 * for up to FLUSH_MS and go out in one write: at thousands of reviews a second, a write per
 * turn of the event loop cost the webhook a system call per review, and woke whatever reads
 * the pipe as often. Past FLUSH_LINES pending lines they are written at once, and whatever is
 * pending is written before the process exits (`process.exit`, or running out of work).
 */

/** How long a line may wait for others: well under what a reader of the log would notice. */
const FLUSH_MS = 50;
/** Lines held at most (a flood of them is written in pieces of this many). */
const FLUSH_LINES = 1000;

let pending: string[] = [];
let timer: NodeJS.Timeout | undefined;

function flush(): void {
  if (timer !== undefined) {
    clearTimeout(timer);
    timer = undefined;
  }
  if (pending.length === 0) return;
  const text = pending.join("");
  pending = [];
  process.stdout.write(text);
}

process.on("exit", flush);

export function log(entry: Record<string, unknown>): void {
  pending.push(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
  if (pending.length >= FLUSH_LINES) flush();
  // Not a reason to keep the process alive: on its way out, "exit" writes what is pending.
  else timer ??= setTimeout(flush, FLUSH_MS).unref();
}
