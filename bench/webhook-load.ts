import autocannon from "autocannon";
import { readFileSync } from "node:fs";

/** The load side of `npm run bench:webhook`: autocannon over HTTPS with keep-alive. */
const [port, seconds, ...rest] = process.argv.slice(2) as [string, string, ...string[]];
const flag = (name: string) => {
  const i = rest.indexOf(name);
  return i >= 0 ? Number(rest[i + 1]) : undefined;
};
const body = readFileSync(0, "utf8");
const rate = flag("--rate");
const result = await autocannon({
  url: `https://127.0.0.1:${port}/validate`,
  method: "POST",
  headers: { "content-type": "application/json" },
  body,
  connections: flag("--connections") ?? 32,
  duration: Number(seconds),
  ...(rate ? { overallRate: rate } : {}),
});
process.stdout.write(
  JSON.stringify({
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  }),
);
