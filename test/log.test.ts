import test from "ava";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The servers' structured log, in a process of its own: what reaches stdout, and in how many
 * writes (each one a system call, and under load a wake-up of whatever reads the pipe).
 */

const logModule = fileURLToPath(new URL("../server/log.js", import.meta.url));

interface Run {
  readonly lines: string[];
  /** Writes to stdout, and when the first was made (ms after the script began). */
  readonly writes: number;
  readonly firstWriteMs: number | undefined;
  /** The longest write, in characters. */
  readonly longest: number;
  readonly status: number | null;
}

/** Runs `body` (an ES module's code, with `log` imported), counting its writes to stdout. */
function run(body: string): Run {
  const script = `
    import { log } from ${JSON.stringify(logModule)};
    const began = performance.now();
    const write = process.stdout.write.bind(process.stdout);
    let writes = 0;
    let firstWriteMs;
    let longest = 0;
    process.stdout.write = (text, ...rest) => {
      if (writes++ === 0) firstWriteMs = performance.now() - began;
      longest = Math.max(longest, text.length);
      return write(text, ...rest);
    };
    process.on("exit", () =>
      process.stderr.write(JSON.stringify({ writes, firstWriteMs, longest })),
    );
    ${body}
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  const told = JSON.parse(r.stderr) as { writes: number; firstWriteMs?: number; longest: number };
  return {
    lines: r.stdout.split("\n").filter((l) => l !== ""),
    writes: told.writes,
    firstWriteMs: told.firstWriteMs,
    longest: told.longest,
    status: r.status,
  };
}

const messages = (lines: string[]) => lines.map((l) => (JSON.parse(l) as { msg: string }).msg);

test("lines logged over many turns of the event loop go out together, in order, each a JSON object with its time", (t) => {
  // A review a turn, as at a few thousand reviews a second: 200 turns, one line each.
  const r = run(`
    let n = 0;
    const next = () => { log({ level: "info", msg: "line " + n }); if (++n < 200) setImmediate(next); };
    next();
  `);
  t.is(r.status, 0);
  t.deepEqual(
    messages(r.lines),
    Array.from({ length: 200 }, (_, i) => `line ${i}`),
  );
  t.true(r.writes <= 10, `${r.writes} writes for 200 lines`);
  const first = JSON.parse(r.lines[0] as string) as Record<string, unknown>;
  t.deepEqual(Object.keys(first), ["time", "level", "msg"]);
  t.false(Number.isNaN(Date.parse(first.time as string)));
});

test("a line is not held for long: it is written while the process keeps running", (t) => {
  // Busy for a second in later turns, without exiting.
  const r = run(`
    log({ level: "info", msg: "early" });
    const busy = () => { if (performance.now() - began < 1000) setImmediate(busy); };
    busy();
  `);
  t.deepEqual(messages(r.lines), ["early"]);
  t.is(r.writes, 1);
  t.true((r.firstWriteMs ?? Infinity) < 500, `written after ${r.firstWriteMs} ms`);
});

test("lines still pending when the process exits are written, whether it exits itself or runs out of work", (t) => {
  const exits = run(`log({ level: "error", msg: "fatal" }); process.exit(3);`);
  t.is(exits.status, 3);
  t.deepEqual(messages(exits.lines), ["fatal"]);
  const ends = run(`log({ level: "info", msg: "stopped" });`);
  t.is(ends.status, 0);
  t.deepEqual(messages(ends.lines), ["stopped"]);
});

test("a flood of lines in one turn is written in pieces a pipe's buffer holds, none lost", (t) => {
  const r = run(`for (let i = 0; i < 20000; i++) log({ level: "info", msg: "flood " + i });`);
  t.is(r.lines.length, 20000);
  t.is(messages(r.lines)[19999], "flood 19999");
  t.true(r.writes > 1, "not all held until the end");
  // Linux pipes hold 64 KiB: a longer write would block the event loop until the reader reads.
  t.true(r.longest <= 32_768, `a write of ${r.longest} characters`);
});

test("warnings and errors are written at once", (t) => {
  const r = run(`
    log({ level: "info", msg: "held" });
    log({ level: "warn", msg: "now" });
    const busy = () => { if (performance.now() - began < 300) setImmediate(busy); };
    busy();
  `);
  t.deepEqual(messages(r.lines), ["held", "now"]);
  t.is(r.writes, 1, "the warning took the line before it along");
  t.true((r.firstWriteMs ?? Infinity) < 40, `written after ${r.firstWriteMs} ms`);
});

test("a server's last lines reach a reader slower than the pipe before it exits (flushLogs)", (t) => {
  // 400 KB of lines, more than a pipe takes at once; the reader starts a second later.
  const dir = mkdtempSync(join(tmpdir(), "otter-log-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, "server.mjs");
  writeFileSync(
    script,
    `import { log, flushLogs } from ${JSON.stringify(logModule)};
     for (let i = 0; i < 4000; i++) log({ level: "info", msg: "line " + i, pad: "x".repeat(40) });
     log({ level: "info", msg: "stopped" });
     await flushLogs();
     process.exit(0);`,
  );
  const r = spawnSync("sh", ["-c", `"$0" "$1" | (sleep 1; cat)`, process.execPath, script], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  const lines = r.stdout.split("\n").filter((l) => l !== "");
  t.is(lines.length, 4001);
  t.is(messages(lines).at(-1), "stopped");
});
