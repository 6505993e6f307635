import { spawnSync } from "node:child_process";

/** What GNU time says of one run: wall time, and peak resident memory in MiB. */
export interface Timed {
  seconds: number;
  peakMb: number;
}

/**
 * Runs `cmd` (its stdout dropped) under GNU time. Exit 1 is the plugin's "findings", which
 * benchmark data has; anything else is a failed run.
 */
export function timedRun(cmd: readonly string[]): Timed {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M", ...cmd], {
    encoding: "utf8",
    maxBuffer: 1 << 30,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const [seconds, kb] = (r.stderr.trim().split("\n").pop() ?? "").split(" ").map(Number);
  if (r.status !== 0 && r.status !== 1) {
    throw new Error(`benchmark command failed (${r.status}): ${cmd.join(" ")}: ${r.stderr}`);
  }
  return { seconds: seconds as number, peakMb: (kb as number) / 1024 };
}
