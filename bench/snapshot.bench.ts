import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { dump, load } from "js-yaml";
import { generate } from "./generate.js";
import { snapshotDiff } from "./plugin-command.js";
import { median } from "./stats.js";
import { timedRun, type Timed } from "./timed.js";

/**
 * `npm run bench:snapshot`: how fast the plugin reads a snapshot, beside the parser a user
 * would compare it with, on the same bytes, alternating, the median of BENCH_RUNS (5: a shared
 * two-core machine varies by a third from one run to the next):
 *  - a JSON snapshot (as `kubectl get observedegresses -A -o json` saves it) against
 *    `JSON.parse` of the file;
 *  - a YAML snapshot (as `-o yaml` saves it: block style) against js-yaml's `load` of the file;
 * at 10,000 and 20,000 workloads × 30 destinations (BENCH_WORKLOADS scales it), with the peak
 * memory against the file's size. The plugin runs `egress diff` with one small ClientIntents
 * file, so that its time is reading the snapshot (it parses every object) and little else;
 * both sides include Node's start.
 */

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const BASE = Number(process.env.BENCH_WORKLOADS ?? 10_000);

type Measure = Timed;

const measure = (args: string[]): Measure => timedRun([process.execPath, ...args]);

const parseFloor = (how: "json" | "yaml", file: string) => [
  "-e",
  how === "json"
    ? `JSON.parse(require("node:fs").readFileSync(${JSON.stringify(file)}, "utf8"))`
    : `require(${JSON.stringify(resolve("node_modules/js-yaml"))}).load(require("node:fs").readFileSync(${JSON.stringify(file)}, "utf8"))`,
];

const dir = mkdtempSync(join(tmpdir(), "otter-snapshot-bench-"));
const results: Record<string, Measure[]> = {};
try {
  const intents = join(dir, "intents");
  mkdirSync(intents);
  for (const workloads of [BASE, 2 * BASE]) {
    const data = join(dir, String(workloads));
    const { observed: generated } = generate(data, workloads);
    // As kubectl writes them: the metadata the API server adds, JSON indented by four spaces,
    // YAML in block style with keys sorted and sequences at their key's indentation.
    const list = load(readFileSync(generated, "utf8")) as { items: Array<{ metadata?: object }> };
    list.items.forEach((item, i) => {
      item.metadata = {
        ...item.metadata,
        creationTimestamp: "2026-11-01T00:00:00Z",
        generation: 1,
        resourceVersion: String(1000 + i),
        uid: `5f0c${String(i).padStart(8, "0")}-7e1d-4c1a-9b7e-1d2c3b4a5f6e`,
      };
    });
    const json = join(data, "observed.json");
    writeFileSync(json, `${JSON.stringify(list, null, 4)}\n`);
    const observed = join(data, "observed.yaml");
    writeFileSync(
      observed,
      dump(list, { seqNoIndent: true, sortKeys: true, lineWidth: -1, quoteStyle: "double" }),
    );
    // One workload's intents: the diff judges one namespace and reads the whole snapshot.
    writeFileSync(join(intents, "svc-1.yaml"), readFileSync(join(data, "intents", "svc-1.yaml")));
    for (const [how, file] of [
      ["json", json],
      ["yaml", observed],
    ] as const) {
      const mb = statSync(file).size / 1048576;
      const floors: Measure[] = [];
      const plugin: Measure[] = [];
      for (let i = 0; i < RUNS; i++) {
        floors.push(measure(parseFloor(how, file)));
        plugin.push(timedRun(snapshotDiff(intents, file)));
      }
      const floor = median(floors.map((m) => m.seconds));
      const seconds = median(plugin.map((m) => m.seconds));
      const peak = Math.max(...plugin.map((m) => m.peakMb));
      results[`${how}-${workloads}`] = plugin;
      console.log(
        `${workloads} workloads, ${how.toUpperCase()} snapshot of ${mb.toFixed(0)} MiB: plugin ${seconds.toFixed(2)} s, ${how === "json" ? "JSON.parse" : "js-yaml load"} ${floor.toFixed(2)} s: ${(seconds / floor).toFixed(2)}× (goal ≤ 1.5×); peak memory ${peak.toFixed(0)} MiB, ${(peak / mb).toFixed(2)}× the file${workloads === BASE ? " (goal ≤ 2×)" : ""}`,
      );
    }
  }
  for (const how of ["json", "yaml"]) {
    const one = median((results[`${how}-${BASE}`] ?? []).map((m) => m.seconds));
    const two = median((results[`${how}-${2 * BASE}`] ?? []).map((m) => m.seconds));
    console.log(
      `${how.toUpperCase()}: twice the input, ${(two / one).toFixed(2)}× the time (goal ≤ 2.2×)`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
