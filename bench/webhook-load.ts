import autocannon from "autocannon";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { percentile } from "./stats.js";

/**
 * The load side of `npm run bench:webhook`, over HTTPS with keep-alive.
 * - saturation: autocannon with many connections, as fast as the server answers, after
 *   WARM_SECONDS of the same load that are not counted;
 * - `--rate R`: an open-loop client that sends R requests a second on a fixed schedule and
 *   measures each latency from the moment the request was due, so a stall of the server
 *   counts against every request it delayed (no coordinated omission). Before the schedule,
 *   WARM_REQUESTS go out closed-loop and the client rests a second; then the schedule's first
 *   two seconds are not counted either.
 *
 * The schedule is kept by checking it every turn of this client's event loop (it has a core to
 * itself). With a timer (`setTimeout(tick, 0)`, a millisecond at best), each request went out up
 * to a millisecond after it was due and counted that wait: a p50 of 1.6-1.8 ms against servers,
 * the bare floor among them, that answer in 0.3-0.6 ms.
 *
 * The fixed-rate client runs without TurboFan (`--max-opt=2`, see webhook.bench.ts): V8
 * optimizes node:https's hot code on compiler threads that share the client's one core, and
 * each burst of those compiles, some 10,000 requests in, stalled the client for 30-50 ms. Every
 * request due meanwhile counted it as latency: a bare node:https server measured a p99 of
 * 45-80 ms at 2,000 req/s, and 3-4 ms without them. The warm-up makes the server's code
 * (and this client's) hot before the schedule starts.
 */

const [port, seconds, ...rest] = process.argv.slice(2) as [string, string, ...string[]];
const flag = (name: string) => {
  const i = rest.indexOf(name);
  return i >= 0 ? Number(rest[i + 1]) : undefined;
};
const body = readFileSync(0, "utf8");
const connections = flag("--connections") ?? 32;
const rate = flag("--rate");

const WARM_REQUESTS = 20_000;
/** Seconds of load before saturation is measured. */
const WARM_SECONDS = 3;

/**
 * One review sent; `answered` is called once, with its status (0: the request failed, or its
 * answer broke off). The warm-up and the schedule send through this one function, so that what
 * the warm-up optimized is what the schedule runs.
 */
function post(agent: Agent, answered: (status: number) => void): void {
  let told = false;
  const tell = (status: number) => {
    if (told) return;
    told = true;
    answered(status);
  };
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
      res.resume();
      res.on("end", () => tell(res.statusCode ?? 0));
      // A connection closed mid-answer ends nothing: without this, the run would wait forever.
      res.on("close", () => tell(res.complete ? (res.statusCode ?? 0) : 0));
    },
  );
  req.on("error", () => tell(0));
  req.end(body);
}

/**
 * Sends `total` requests with at most `connections` in flight: warms the code on both sides.
 * Resolves to how many failed or were not answered 200.
 */
function warm(agent: Agent, total: number): Promise<number> {
  let sent = 0;
  let done = 0;
  let failed = 0;
  return new Promise((resolve) => {
    const one = () => {
      sent++;
      post(agent, (status) => {
        done++;
        if (status !== 200) failed++;
        if (sent < total) one();
        else if (done === total) resolve(failed);
      });
    };
    for (let i = 0; i < Math.min(connections, total); i++) one();
  });
}

async function fixedRate(perSecond: number, durationS: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections, rejectUnauthorized: false });
  // A warm-up that failed counts with the run's own failures: the figures are not to be trusted.
  const warmFailed = await warm(agent, WARM_REQUESTS);
  await new Promise((r) => setTimeout(r, 1000));
  const warmup = 2 * perSecond;
  const total = warmup + Math.round(perSecond * durationS);
  // Every answered request's latency (a failed one has none): percentiles are over these.
  const latencies = new Float64Array(total - warmup);
  let timed = 0;
  let errors = 0;
  let non2xx = 0;
  let done = 0;
  const start = performance.now() + 50;
  const send = (i: number, due: number) =>
    post(agent, (status) => {
      if (status === 0) errors++;
      else {
        if (status !== 200) non2xx++;
        if (i >= warmup) latencies[timed++] = performance.now() - due;
      }
      done++;
    });
  await new Promise<void>((resolve) => {
    let next = 0;
    const tick = () => {
      const now = performance.now();
      while (next < total && start + (next * 1000) / perSecond <= now) {
        send(next, start + (next * 1000) / perSecond);
        next++;
      }
      // Polled each turn of the loop, not on a timer: Node's timers wake a millisecond apart
      // at best, and a request sent late counts its lateness (see above).
      if (next < total) setImmediate(tick);
      else resolve();
    };
    setTimeout(tick, 50);
  });
  while (done < total) await new Promise((r) => setTimeout(r, 10));
  agent.destroy();
  const sorted = latencies.subarray(0, timed).sort();
  return {
    rps: perSecond,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    errors: errors + warmFailed,
    non2xx,
  };
}

let out;
if (rate) {
  out = await fixedRate(rate, Number(seconds));
} else {
  const saturate = (duration: number) =>
    autocannon({
      url: `https://127.0.0.1:${port}/validate`,
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      connections,
      duration,
    });
  // A server just started is not yet the one that serves: its code is compiled, and its
  // freshly loaded heap swept, on the one core it shares with those threads. Both sides get
  // the same warm-up, not counted (the fixed-rate client warms up too, see there).
  const warmup = await saturate(WARM_SECONDS);
  const result = await saturate(Number(seconds));
  result.errors += warmup.errors;
  result.non2xx += warmup.non2xx;
  out = {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}
process.stdout.write(JSON.stringify(out));
