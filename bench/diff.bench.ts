import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "./generate.js";
import { snapshotDiff } from "./plugin-command.js";
import { median } from "./stats.js";
import { timedRun, type Timed } from "./timed.js";

/**
 * `npm run bench`: wall time and peak memory of `kubectl otter egress diff -o json` on
 * generated input, beside the floor (read the same files, js-yaml loadAll) in the same
 * run, at 1× and 2× the input. Each figure is the median of RUNS fresh processes.
 */

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BASE = Number(process.env.BENCH_WORKLOADS ?? 10_000);

type Measure = Timed;

function report(label: string, all: Measure[]): Measure {
  const m = {
    seconds: median(all.map((x) => x.seconds)),
    peakMb: median(all.map((x) => x.peakMb)),
  };
  console.log(
    `  ${label.padEnd(34)} ${m.seconds.toFixed(2).padStart(6)} s   peak RSS ${m.peakMb.toFixed(0).padStart(5)} MiB`,
  );
  return m;
}

/** Runs the two commands alternately, so a machine that speeds up or slows down affects both alike. */
function pair(
  floorCommand: string[],
  diffCommand: string[],
): { floor: Measure; diff: Measure; ratio: number } {
  const floors: Measure[] = [];
  const diffs: Measure[] = [];
  for (let i = 0; i < RUNS; i++) {
    floors.push(timedRun(floorCommand));
    diffs.push(timedRun(diffCommand));
  }
  const floor = report("floor: read + js-yaml loadAll", floors);
  const diff = report("egress diff -o json", diffs);
  const ratio = median(diffs.map((d, i) => d.seconds / (floors[i] as Measure).seconds));
  return { floor, diff, ratio };
}

const results: Array<{ workloads: number; diff: Measure; floor: Measure }> = [];
for (const workloads of [BASE, 2 * BASE]) {
  const dir = mkdtempSync(join(tmpdir(), "otter-bench-"));
  try {
    const { intents, observed } = generate(dir, workloads);
    const mb = statSync(observed).size / 1e6;
    console.log(
      `${workloads} workloads × 30 destinations, ${workloads} ClientIntents files (snapshot ${mb.toFixed(0)} MB):`,
    );
    const diffCommand = snapshotDiff(intents, observed);
    const { floor, diff, ratio } = pair(
      [process.execPath, "dist/bench/floor.js", intents, observed],
      diffCommand,
    );
    console.log(`  ratio diff/floor (median of paired runs): ${ratio.toFixed(2)}× (goal ≤ 1.5×)`);
    results.push({ workloads, diff, floor });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const [one, two] = results as [(typeof results)[0], (typeof results)[0]];
console.log(
  `scaling 2× input: diff ${(two.diff.seconds / one.diff.seconds).toFixed(2)}× time (goal ≤ 2.2×), floor ${(two.floor.seconds / one.floor.seconds).toFixed(2)}×`,
);
