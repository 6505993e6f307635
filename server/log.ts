/**
 * Structured logs: one JSON object per line on stdout, with the time first. Lines written in
 * the same turn of the event loop go out in one write (one system call under load, not one
 * per review); whatever is pending is written before the process exits.
 */

let pending: string[] = [];

function flush(): void {
  if (pending.length === 0) return;
  const text = pending.join("");
  pending = [];
  process.stdout.write(text);
}

process.on("exit", flush);

export function log(entry: Record<string, unknown>): void {
  if (pending.length === 0) setImmediate(flush);
  pending.push(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
}
