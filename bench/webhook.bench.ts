import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { load } from "js-yaml";
import { generate } from "./generate.js";
import { deploymentRollout, intentsUpdate } from "./webhook-reviews.js";
import { mean, median } from "./stats.js";
import { endToEnd } from "./webhook-e2e.js";

/**
 * `npm run bench:webhook`: the webhook server (caches of 10,000 workloads) and a bare
 * node:https floor, each pinned to core 0, loaded by autocannon pinned to core 1, over HTTPS
 * with keep-alive. Prints, for a drifting ClientIntents update (2.5 KB), throughput at
 * saturation, p50/p99 at a fixed 2,000 req/s, and the server's peak memory; then throughput at
 * saturation for a Deployment rolled out to a new image (9 KB; both in webhook-reviews.ts).
 *
 * BENCH_BASELINE names a commit whose webhook server runs in the same rounds (built from
 * `git archive` of it, with this checkout's node_modules), so that a change to the server is
 * measured against what it replaces on the same machine at the same time. The default is the
 * last commit before the servers moved to express; BENCH_BASELINE= (empty) leaves it out.
 */

const WORKLOADS = Number(process.env.BENCH_WORKLOADS ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BASELINE = process.env.BENCH_BASELINE ?? "7ab2e00";
const dir = mkdtempSync(join(tmpdir(), "otter-webhook-bench-"));

/** The baseline commit's tree, built: its dist/bench/webhook-server.js is what runs. */
function buildBaseline(ref: string): string {
  const tree = join(dir, "baseline");
  execFileSync("mkdir", ["-p", tree]);
  execFileSync("sh", ["-c", `git archive "$1" | tar -x -C "$2"`, "sh", ref, tree]);
  symlinkSync(resolve("node_modules"), join(tree, "node_modules"));
  try {
    execFileSync(process.execPath, [resolve("node_modules/typescript/bin/tsc"), "-p", tree], {
      stdio: "ignore",
    });
  } catch {
    // Types of newer dependencies may not fit old code; tsc has emitted it all the same.
  }
  return tree;
}

function lines(stream: Readable): AsyncIterable<string> {
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  let buf = "";
  stream.on("data", (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      queue.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      wake?.();
    }
  });
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length > 0) yield queue.shift() as string;
        await new Promise<void>((r) => (wake = r));
      }
    },
  };
}

async function next(it: AsyncIterator<string>): Promise<string> {
  return (await it.next()).value as string;
}

function load_(
  port: number,
  body: string,
  extra: string[],
): Promise<{ rps: number; p50: number; p99: number; errors: number; non2xx: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "taskset",
      [
        "-c",
        "1",
        process.execPath,
        // The fixed-rate client measures latency: no TurboFan compiles may stall it (see there).
        ...(extra.includes("--rate") ? ["--max-opt=2"] : []),
        "dist/bench/webhook-load.js",
        String(port),
        String(SECONDS),
        ...extra,
      ],
      // Both clients take the server's self-signed certificate unverified (webhook-load.ts).
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", () => {
      try {
        resolve(JSON.parse(out));
      } catch (e) {
        reject(e);
      }
    });
    child.stdin.end(body);
  });
}

async function run(
  mode: "engine" | "floor",
  port: number,
  body: string,
  rollout: string,
  cwd = ".",
) {
  const server = spawn(
    "taskset",
    [
      "-c",
      "0",
      process.execPath,
      "--expose-gc",
      "dist/bench/webhook-server.js",
      mode,
      String(port),
      dir,
    ],
    // stdout carries the server's logs (counted, as a check that every review was logged);
    // fd 3 carries "ready" and its peak memory.
    { stdio: ["ignore", "pipe", "inherit", "pipe"], cwd },
  );
  let logLines = 0;
  (server.stdout as Readable).on("data", (d: Buffer) => {
    for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) logLines++;
  });
  const it = lines(server.stdio[3] as Readable)[Symbol.asyncIterator]();
  if ((await next(it)) !== "ready") throw new Error("server did not start");
  const saturated = await load_(port, body, ["--connections", "64"]);
  const fixed = await load_(port, body, ["--connections", "32", "--rate", "2000"]);
  const rolloutSaturated = await load_(port, rollout, ["--connections", "64"]);
  server.kill("SIGTERM");
  const memory = JSON.parse(await next(it)) as {
    maxRssMb: number;
    rssMb: number;
    heapMb: number;
    /** Absent from a baseline older than the figure. */
    youngPauseMs?: number;
  };
  return { saturated, fixed, rolloutSaturated, ...memory, logLines };
}

try {
  generate(dir, WORKLOADS);
  const ci = load(readFileSync(join(dir, "intents", "svc-42.yaml"), "utf8")) as {
    metadata: { name: string; namespace: string };
  };
  const body = intentsUpdate(ci);
  const rollout = deploymentRollout("svc-42", "team-42");
  console.log(
    `AdmissionReview bodies: a drifting ClientIntents update of ${body.length} bytes (the heaviest review: judged, warned and logged), and a Deployment rolled out to a new image, ${rollout.length} bytes (what most deploys send: judged, its pod template changed); caches: ${WORKLOADS} workloads × 30 destinations`,
  );
  // Floor and webhook alternate, ROUNDS times each: this machine drifts by ±20% from one
  // run to the next, so each figure is the median of its rounds.
  type Run = Awaited<ReturnType<typeof run>>;
  const runs: Record<"floor" | "engine" | "baseline", Run[]> = {
    floor: [],
    engine: [],
    baseline: [],
  };
  const baseline = BASELINE ? buildBaseline(BASELINE) : undefined;
  for (let round = 0; round < ROUNDS; round++) {
    runs.floor.push(await run("floor", 19443 + 3 * round, body, rollout));
    if (baseline)
      runs.baseline.push(await run("engine", 19444 + 3 * round, body, rollout, baseline));
    runs.engine.push(await run("engine", 19445 + 3 * round, body, rollout));
  }
  const summary = (rs: Run[]) => ({
    rps: median(rs.map((r) => r.saturated.rps)),
    rpsEach: rs.map((r) => r.saturated.rps.toFixed(0)).join(", "),
    rolloutRps: median(rs.map((r) => r.rolloutSaturated.rps)),
    rolloutEach: rs.map((r) => r.rolloutSaturated.rps.toFixed(0)).join(", "),
    p50: median(rs.map((r) => r.fixed.p50)),
    p99: median(rs.map((r) => r.fixed.p99)),
    p99Each: rs.map((r) => r.fixed.p99.toFixed(1)).join(", "),
    errors: rs.reduce(
      (n, r) => n + r.saturated.errors + r.fixed.errors + r.rolloutSaturated.errors,
      0,
    ),
    non2xx: rs.reduce(
      (n, r) => n + r.saturated.non2xx + r.fixed.non2xx + r.rolloutSaturated.non2xx,
      0,
    ),
    heapMb: median(rs.map((r) => r.heapMb)),
    rssMb: median(rs.map((r) => r.rssMb)),
    maxRssMb: Math.max(...rs.map((r) => r.maxRssMb)),
    logLines: rs.reduce((n, r) => n + r.logLines, 0),
    youngPauseEach: rs.map((r) => r.youngPauseMs?.toFixed(1) ?? "?").join(", "),
  });
  const floor = summary(runs.floor);
  const engine = summary(runs.engine);
  const before = baseline ? summary(runs.baseline) : undefined;
  for (const [name, r] of [
    ["bare node:https (floor)", floor],
    ...(before ? ([[`the webhook at ${BASELINE} (baseline)`, before]] as const) : []),
    ["otter egress webhook", engine],
  ] as const) {
    console.log(`${name} (median of ${ROUNDS} runs):`);
    console.log(
      `  saturation: ${r.rps.toFixed(0)} req/s (runs: ${r.rpsEach}; errors ${r.errors}, non-2xx ${r.non2xx})`,
    );
    console.log(
      `  at 2,000 req/s: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms (runs: ${r.p99Each})`,
    );
    console.log(
      `  the Deployment rollout, saturation: ${r.rolloutRps.toFixed(0)} req/s (runs: ${r.rolloutEach})`,
    );
    console.log(
      `  memory: live heap after loading ${r.heapMb.toFixed(0)} MiB, RSS at the end ${r.rssMb.toFixed(0)} MiB (peak ${r.maxRssMb.toFixed(0)} MiB, while loading); ${r.logLines} log lines`,
    );
    console.log(`  young collections while serving: median pause ${r.youngPauseEach} ms (by run)`);
  }
  console.log(
    `throughput webhook/floor: ${(engine.rps / floor.rps).toFixed(2)} (goal ≥ 0.5); p99 at 2,000 req/s: ${engine.p99.toFixed(1)} ms (goal < 5 ms)`,
  );
  console.log(
    `the Deployment rollout, throughput webhook/floor: ${(engine.rolloutRps / floor.rolloutRps).toFixed(2)}${before ? ` (the baseline: ${(before.rolloutRps / floor.rolloutRps).toFixed(2)})` : ""}`,
  );
  if (before) {
    console.log(
      `against the baseline: throughput ${(engine.rps / before.rps).toFixed(2)} (goal ≥ 0.90), p99 at 2,000 req/s ${engine.p99.toFixed(1)} ms vs ${before.p99.toFixed(1)} ms (goal: the same)`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 100);
const PER_CLIENT = Number(process.env.BENCH_PER_CLIENT ?? 20);
console.log(
  `\nThrough the API server: ${CLIENTS} concurrent clients, each creating (and deleting) its ClientIntents ${PER_CLIENT} times per closed-loop phase, 5 times per open-loop one`,
);
const OPEN_RATE = Number(process.env.BENCH_OPEN_RATE ?? 40);
const phases = await endToEnd(CLIENTS, PER_CLIENT, OPEN_RATE);
for (const [title, open] of [
  ["closed loop (each client creates again as soon as it can)", false],
  [`open loop (${OPEN_RATE} creates/s on a fixed schedule, below saturation)`, true],
] as const) {
  console.log(`  ${title}:`);
  const these = phases.filter((p) => (p.rate !== undefined) === open);
  for (const p of these) {
    console.log(
      `    ${p.webhook ? "with webhook   " : "without webhook"}: ${p.creates} creates, ${p.perSecond.toFixed(0)}/s, p50 ${p.p50.toFixed(1)} ms, p99 ${p.p99.toFixed(1)} ms (failed ${p.failed}, reviewed by the webhook ${p.reviewed}${p.decisionMs === undefined ? "" : `, ${p.decisionMs.toFixed(2)} ms each inside it`})`,
    );
  }
  const pick = (webhook: boolean, k: "p50" | "p99") =>
    mean(these.filter((p) => p.webhook === webhook).map((p) => p[k]));
  console.log(
    `    the webhook adds: p50 ${(pick(true, "p50") - pick(false, "p50")).toFixed(1)} ms, p99 ${(pick(true, "p99") - pick(false, "p99")).toFixed(1)} ms (goal < 2 ms at p99)`,
  );
}
