import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { CONTROL, DNSTAP_CONTENT_TYPE, encodeControl } from "../src/collector/frame-streams.js";
import { dnstapEncoder, podIp } from "./collector-data.js";
import { median } from "./stats.js";
import { dnstapProto } from "../test/helpers/dnstap-proto.js";

/**
 * `npm run bench:collector`: the collector's ingest (Frame Streams server, dnstap and DNS
 * decoding, attribution, aggregation) pinned to core 0, fed realistic dnstap frames over a
 * unix socket by this process on core 1. First every (workload, name) pair once — 1,000,000
 * by default — then the same lookups again (names already known, the steady state). Prints
 * frames per second and the collector's memory.
 */

const WORKLOADS = Number(process.env.BENCH_WORKLOADS ?? 10_000);
const NAMES = Number(process.env.BENCH_NAMES ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/**
 * The pending path: workloads whose answers arrive before their pods are known (a pod that
 * resolves at start-up), LATE_NAMES answers each, held until the pods arrive. Their total
 * stays within what the collector holds at once (20,000).
 */
const LATE = Number(process.env.BENCH_LATE ?? 2000);
const LATE_NAMES = Number(process.env.BENCH_LATE_NAMES ?? 10);
const dir = mkdtempSync(join(tmpdir(), "otter-collector-bench-"));
const socketPath = join(dir, "dnstap.sock");

function lineReader(stream: Readable): () => Promise<string> {
  let buf = "";
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  stream.on("data", (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      queue.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      wake?.();
    }
  });
  return async () => {
    while (queue.length === 0) await new Promise<void>((r) => (wake = r));
    return queue.shift() as string;
  };
}

/** Sends one session (READY, START, the frames, STOP) and resolves when FINISH is back. */
function session(frames: Buffer): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const socket: Socket = connect(socketPath);
    let got = Buffer.alloc(0);
    let started = 0n;
    const accept = encodeControl(CONTROL.ACCEPT, [DNSTAP_CONTENT_TYPE]);
    const finish = encodeControl(CONTROL.FINISH);
    socket.on("error", reject);
    socket.on("data", (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.equals(accept)) {
        started = process.hrtime.bigint();
        socket.write(encodeControl(CONTROL.START, [DNSTAP_CONTENT_TYPE]));
        // In 1 MiB writes, as a busy writer's buffer would flush.
        let at = 0;
        const pump = () => {
          while (at < frames.length) {
            const chunk = frames.subarray(at, at + (1 << 20));
            at += chunk.length;
            if (!socket.write(chunk)) return void socket.once("drain", pump);
          }
          socket.write(encodeControl(CONTROL.STOP));
        };
        pump();
      } else if (got.length === accept.length + finish.length) {
        resolvePromise(Number(process.hrtime.bigint() - started) / 1e9);
        socket.end();
      }
    });
    socket.write(encodeControl(CONTROL.READY, [DNSTAP_CONTENT_TYPE]));
  });
}

async function main(): Promise<void> {
  // The collector starts first, while this process is still small.
  const server = spawn(
    "taskset",
    [
      "-c",
      "0",
      process.execPath,
      "--expose-gc",
      // As the collector should run (the chart sets it): a 64 MiB young generation, so that
      // short-lived per-frame garbage is collected four times less often next to an old
      // generation of a million destinations.
      "--max-semi-space-size=64",
      // For profiling the collector: BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=prof"
      ...(process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter((f) => f !== ""),
      "dist/bench/collector-server.js",
      String(WORKLOADS),
      socketPath,
      String(LATE),
    ],
    { stdio: ["ignore", "inherit", "inherit", "pipe"] },
  );
  const next = lineReader(server.stdio[3] as Readable);
  if ((await next()) !== "ready") throw new Error("collector did not start");
  const pairs = WORKLOADS * NAMES;
  const t0 = Date.now();
  const encode = await dnstapEncoder(dnstapProto());
  const parts: Buffer[] = [];
  const clients = Array.from({ length: WORKLOADS }, (_, w) =>
    Buffer.from(podIp(w).split(".").map(Number)),
  );
  const now = Date.now();
  // Name by name, each asked by every workload: consecutive frames come from different pods.
  for (let n = 0; n < NAMES; n++) {
    for (let w = 0; w < WORKLOADS; w++) {
      const host = `api-${n}.vendor-${w % 500}.example.com`;
      for (const f of encode(clients[w] as Buffer, host, n * 7 + w, now)) parts.push(f);
    }
  }
  const frames = Buffer.concat(parts);
  parts.length = 0;
  const count = pairs * 2;
  console.log(
    `dnstap frames: ${count} (${WORKLOADS} workloads × ${NAMES} names, a query and a response each; ` +
      `${(frames.length / count).toFixed(0)} bytes on average; generated in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );

  const stats = async () => {
    server.kill("SIGUSR2");
    return JSON.parse(await next()) as {
      frames: number;
      observations: number;
      unattributed: number;
      decodeErrors: number;
      pairs: number;
      heapMb: number;
      rssMb: number;
      maxRssMb: number;
    };
  };

  const fill = await session(frames);
  const filled = await stats();
  // Answers of pods not known yet, sent once the collector is warm: the pending path.
  const lateParts: Buffer[] = [];
  for (let n = 0; n < LATE_NAMES; n++) {
    for (let w = WORKLOADS; w < WORKLOADS + LATE; w++) {
      const client = Buffer.from(podIp(w).split(".").map(Number));
      const host = `late-${n}.vendor-${w % 500}.example.com`;
      for (const f of encode(client, host, n * 7 + w, now)) lateParts.push(f);
    }
  }
  const lateFrames = Buffer.concat(lateParts);
  const lateCount = LATE * LATE_NAMES * 2;
  const held = await session(lateFrames);
  server.kill("SIGUSR1");
  const claim = JSON.parse(await next()) as { claimed: number; ms: number };

  const steady: number[] = [];
  for (let r = 0; r < ROUNDS; r++) steady.push(await session(frames));
  const end = await stats();
  server.kill("SIGTERM");

  const rate = (s: number) => Math.round(count / s).toLocaleString("en-US");
  console.log(`collector (core 0), fed over a unix socket from core 1:`);
  console.log(
    `  first sight of every pair: ${rate(fill)} frames/s (${fill.toFixed(2)} s); ` +
      `pairs held ${filled.pairs.toLocaleString("en-US")}`,
  );
  console.log(
    `  names already known (median of ${ROUNDS}): ${rate(median(steady))} frames/s ` +
      `(runs: ${steady.map(rate).join(", ")})`,
  );
  console.log(
    `  answers before their pods (${LATE} workloads × ${LATE_NAMES} names): held at ` +
      `${Math.round(lateCount / held).toLocaleString("en-US")} frames/s (${held.toFixed(2)} s); ` +
      `when the pods arrived, ${claim.claimed.toLocaleString("en-US")} of ` +
      `${(LATE * LATE_NAMES).toLocaleString("en-US")} attributed in ${claim.ms.toFixed(0)} ms`,
  );
  console.log(
    `  memory with ${filled.pairs.toLocaleString("en-US")} pairs: live heap ${filled.heapMb.toFixed(0)} MiB ` +
      `(${((filled.heapMb * 1048576) / filled.pairs).toFixed(0)} bytes per pair), RSS ${filled.rssMb.toFixed(0)} MiB, ` +
      `peak RSS ${end.maxRssMb.toFixed(0)} MiB`,
  );
  console.log(
    `  checks: ${end.frames} frames, ${end.observations} observations, ${end.unattributed} unattributed, ` +
      `${end.decodeErrors} decode errors`,
  );
  const slowest = Math.max(fill / count, median(steady) / count, held / lateCount);
  console.log(
    `goal ≥ 200,000 frames/s on one core: ${1 / slowest >= 200_000 ? "met" : "not met"} ` +
      `(slowest phase: ${Math.round(1 / slowest).toLocaleString("en-US")} frames/s)`,
  );
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
