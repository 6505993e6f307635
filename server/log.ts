/**
 * Structured logs: one JSON object per line on stdout, with the time first. Lines are gathered
 * for up to FLUSH_MS and go out in one write: at thousands of reviews a second, a write per
 * turn of the event loop cost the webhook a system call per review, and woke whatever reads
 * the pipe as often. Warnings and errors go out at once, and so does the text past FLUSH_CHARS.
 * Whatever is pending is written before the process exits; a server's entry point waits, with
 * `flushLogs`, until the pipe has taken it all (see there).
 */

/** How long a line may wait for others: well under what a reader of the log would notice. */
const FLUSH_MS = 50;
/** Text held at most: a quarter of what a Linux pipe holds, so that a write usually fits. */
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
  // Warnings and errors are rare, and what an operator looks for first: not held back.
  if (pendingChars >= FLUSH_CHARS || entry.level === "warn" || entry.level === "error") flush();
  // Not a reason to keep the process alive: on its way out, "exit" writes what is pending.
  else timer ??= setTimeout(flush, FLUSH_MS).unref();
}

/** The longest a process on its way out waits for its log's reader. */
const EXIT_WAIT_MS = 2000;

/**
 * Writes what is pending and resolves once stdout has handed everything to the kernel, or
 * after EXIT_WAIT_MS. Writes to a pipe are asynchronous in Node: what the pipe could not take
 * yet waits in the stream, and `process.exit` drops it. So a server calls this before it exits.
 */
export function flushLogs(): Promise<void> {
  flush();
  return new Promise((resolve) => {
    const bound = setTimeout(resolve, EXIT_WAIT_MS).unref();
    // Called once the writes before it are done (or failed: a reader that went away).
    process.stdout.write("", () => {
      clearTimeout(bound);
      resolve();
    });
  });
}
