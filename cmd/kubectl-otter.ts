import { fstatSync, readSync, writeSync } from "node:fs";
import { complete, renderCompletion } from "../src/cli/complete.js";
import { parseRequest } from "../src/cli/invocation.js";
import { checkRuntime } from "../src/cli/runtime.js";
import type { UsageError } from "../src/errors.js";
import { isTypedError } from "../src/errors.js";
import { VERSION } from "../src/version.js";
import { withOneMallocArena } from "./malloc-arena.js";

/**
 * `kubectl-otter`: gather → decide → render → exit code. Only this file maps errors to
 * exit codes: 0 no failing finding, 1 failing findings, 2 usage or input error.
 */

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  stdin(): string;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
  /** The terminal's width (help wraps to it); undefined when stdout is not a terminal. */
  columns?: number;
  clock(): number;
}

/** Sleeps a few milliseconds (made on first use: a start-up snapshot has no SharedArrayBuffer). */
let pauseCell: Int32Array | undefined;
const pause = () => Atomics.wait((pauseCell ??= new Int32Array(new SharedArrayBuffer(4))), 0, 0, 5);

/**
 * All of stdin. A pipe may be non-blocking and empty for now (a slow producer): EAGAIN waits
 * and reads again, where readFileSync(0) would fail.
 */
function readStdin(): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") {
        pause();
        continue;
      }
      if (code === "EOF") break;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** A write to stdout that failed (a full disk, a closed pipe): errno's code. */
class OutputError extends Error {
  constructor(readonly code: string) {
    super(`cannot write the output to stdout: ${code}`);
  }
}

/**
 * All of text to a file descriptor, synchronously: no stream is set up (that costs a few
 * milliseconds of every start), and a non-blocking pipe that is full is waited for.
 */
function writeFd(fd: number, text: string): void {
  const buf = Buffer.from(text, "utf8");
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      if (code === "EAGAIN") {
        pause();
        continue;
      }
      throw new OutputError(code);
    }
  }
}

/** Whether stdout is a terminal; node:tty is loaded only for a character device. */
function stdoutIsTerminal(): boolean {
  try {
    return fstatSync(1).isCharacterDevice() && process.stdout.isTTY === true;
  } catch {
    return false;
  }
}

function processIo(): Io {
  const terminal = stdoutIsTerminal();
  return {
    stdout: (t) => writeFd(1, t),
    stderr: (t) => {
      try {
        writeFd(2, t);
      } catch {
        // Nowhere left to say it.
      }
    },
    stdin: readStdin,
    env: process.env,
    isTTY: terminal,
    ...(terminal ? { columns: process.stdout.columns } : {}),
    clock: () => Date.now(),
  };
}

/**
 * `kubectl-otter __complete ARGS… WORD` (what kubectl_complete-otter runs): candidates for the
 * word, in cobra's protocol. Names from the cluster are added when it answers within a few
 * seconds; a completion never fails loudly.
 */
async function completion(args: readonly string[], io: Io): Promise<number> {
  const wanted = complete(args);
  let looked: string[] = [];
  if (wanted.lookup) {
    try {
      // In the run's half (the cluster client is there), so that a start needs neither.
      looked = await (await import("./plugin-run.js")).namesToComplete(wanted, args, io);
    } catch (e) {
      io.stderr(`completion: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  io.stdout(renderCompletion(wanted, looked));
  return 0;
}

/**
 * `beforeRun`: what the process does once it knows a command will run (not help, version or
 * completion), before the command's code is loaded.
 */
export async function main(
  argv: readonly string[],
  io: Io = processIo(),
  beforeRun: () => void = () => undefined,
): Promise<number> {
  if (argv[0] === "__complete" || argv[0] === "__completeNoDesc") {
    return completion(argv.slice(1), io);
  }
  try {
    const request = parseRequest(argv, { columns: io.columns ?? 80 });
    switch (request.kind) {
      case "help":
        io.stdout(request.text);
        return 0;
      case "version":
        io.stdout(`kubectl-otter ${VERSION} (Node.js ${process.version})\n`);
        return 0;
      case "run":
        checkRuntime(process.versions.node);
        beforeRun();
        return await (await import("./plugin-run.js")).execute(request.invocation, io);
    }
  } catch (e) {
    // A reader that went away (`| head`) ends the run quietly, as SIGPIPE ends kubectl's.
    if (e instanceof OutputError && e.code === "EPIPE") return 141;
    if (e instanceof OutputError) {
      io.stderr(`error: ${e.message}\n`);
      return 2;
    }
    if (isTypedError(e)) {
      io.stderr(`error: ${e.message}\n`);
      if (e.name === "UsageError" && (e as UsageError).command) {
        io.stderr(`See 'kubectl otter ${(e as UsageError).command} --help' for usage.\n`);
      }
      return 2;
    }
    const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
    io.stderr(`error: internal error, please report it: ${detail}\n`);
    return 2;
  }
}

/**
 * The process's run: main, then exit (an abandoned request to an unreachable cluster must not
 * keep the process alive). Output is written synchronously, so nothing is left to flush; output
 * that could not be written is exit 2 with one line, never a silent success.
 */
export async function runProcess(argv: readonly string[]): Promise<never> {
  // Help, version and completion (at every Tab) read nothing: they start once.
  process.exit(await main(argv, processIo(), withOneMallocArena));
}
