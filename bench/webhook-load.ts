import autocannon from "autocannon";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { percentile } from "./stats.js";

/**
 * The load side of `npm run bench:webhook`, over HTTPS with keep-alive.
 * - saturation: autocannon with many connections, as fast as the server answers;
 * - `--rate R`: an open-loop client that sends R requests a second on a fixed schedule and
 *   measures each latency from the moment the request was due, so a stall of the server
 *   counts against every request it delayed (no coordinated omission). The first two seconds
 *   warm up and are not counted.
 */

const [port, seconds, ...rest] = process.argv.slice(2) as [string, string, ...string[]];
const flag = (name: string) => {
  const i = rest.indexOf(name);
  return i >= 0 ? Number(rest[i + 1]) : undefined;
};
const body = readFileSync(0, "utf8");
const connections = flag("--connections") ?? 32;
const rate = flag("--rate");

async function fixedRate(perSecond: number, durationS: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections, rejectUnauthorized: false });
  const warmup = 2 * perSecond;
  const total = warmup + Math.round(perSecond * durationS);
  const latencies = new Float64Array(total - warmup);
  let errors = 0;
  let non2xx = 0;
  let done = 0;
  const start = performance.now() + 50;
  const send = (i: number, due: number) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: Number(port),
        path: "/validate",
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        if (res.statusCode !== 200) non2xx++;
        res.resume();
        res.on("end", () => {
          if (i >= warmup) latencies[i - warmup] = performance.now() - due;
          done++;
        });
      },
    );
    req.on("error", () => {
      errors++;
      done++;
    });
    req.end(body);
  };
  await new Promise<void>((resolve) => {
    let next = 0;
    const tick = () => {
      const now = performance.now();
      while (next < total && start + (next * 1000) / perSecond <= now) {
        send(next, start + (next * 1000) / perSecond);
        next++;
      }
      if (next < total) setTimeout(tick, 0);
      else resolve();
    };
    setTimeout(tick, 50);
  });
  while (done < total) await new Promise((r) => setTimeout(r, 10));
  agent.destroy();
  const sorted = latencies.sort();
  return {
    rps: perSecond,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    errors,
    non2xx,
  };
}

let out;
if (rate) {
  out = await fixedRate(rate, Number(seconds));
} else {
  const result = await autocannon({
    url: `https://127.0.0.1:${port}/validate`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections,
    duration: Number(seconds),
  });
  out = {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}
process.stdout.write(JSON.stringify(out));
