import { isSea } from "node:sea";

/**
 * glibc's malloc keeps an arena for each thread that allocates (up to eight per core), and
 * Node's helper threads each touch one: at 10,000 workloads, `diff -A` held 13 MB more at its
 * peak than with one arena for all (ADR 19). The variable is read when the process starts, so
 * the plugin runs itself again with it, once, when a command is to run: `bin/kubectl-otter.js`
 * sets it in its first line and does not need to.
 */

export const MALLOC_ENV = { MALLOC_ARENA_MAX: "1" } as const;

/** The command line that starts this process again: the same binary, V8 flags and arguments. */
export function restartArgs(
  p: Pick<NodeJS.Process, "execPath" | "execArgv" | "argv">,
  sea: boolean,
): string[] {
  // A single binary has its V8 flags built in; its argv[1] is the binary again.
  return sea ? [p.execPath, ...p.argv.slice(2)] : [p.execPath, ...p.execArgv, ...p.argv.slice(1)];
}

/**
 * Replaces the process with itself under MALLOC_ENV, on Linux when it is not set yet. Where that
 * cannot be done (no execve, or it fails), the plugin runs as it is, with more memory.
 */
export function withOneMallocArena(): void {
  if (process.platform !== "linux" || process.env.MALLOC_ARENA_MAX !== undefined) return;
  if (typeof process.execve !== "function") return;
  try {
    process.execve(process.execPath, restartArgs(process, isSea()), {
      ...process.env,
      ...MALLOC_ENV,
    });
  } catch {
    // Run as it is.
  }
}
