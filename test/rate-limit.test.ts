import test from "ava";
import { TokenBucket } from "../src/collector/rate-limit.js";

/** The collector's API rate limit, on plain numbers. */

/** When each of `n` requests asked for at `at` may go. */
function departures(bucket: TokenBucket, n: number, at: number): number[] {
  return Array.from({ length: n }, () => at + bucket.take(at));
}

test("a burst goes at once; beyond it, requests go at the rate, in order", (t) => {
  const b = new TokenBucket(10, 5, 0);
  const times = departures(b, 25, 0);
  t.deepEqual(times.slice(0, 5), [0, 0, 0, 0, 0]);
  // The 6th waits a tenth of a second, the 25th two seconds: 10 a second.
  t.is(times[5], 100);
  t.is(times[24], 2000);
  for (let i = 1; i < times.length; i++) t.true((times[i] ?? 0) >= (times[i - 1] ?? 0));
});

test("over any minute, no more than the rate and the burst", (t) => {
  const b = new TokenBucket(50, 100, 0);
  // 20,000 writes asked for at once (a burst of new destinations on 10,000 workloads).
  const times = departures(b, 20_000, 0);
  const inFirstMinute = times.filter((x) => x < 60_000).length;
  t.true(inFirstMinute <= 50 * 60 + 100, `${inFirstMinute}`);
  t.true(inFirstMinute >= 50 * 60, `${inFirstMinute}`);
});

test("an idle bucket fills up to its burst, not beyond", (t) => {
  const b = new TokenBucket(10, 5, 0);
  departures(b, 5, 0);
  const later = departures(b, 7, 10_000);
  t.deepEqual(later.slice(0, 5), [10_000, 10_000, 10_000, 10_000, 10_000]);
  t.is(later[5], 10_100);
});

test("on shutdown the limit is lifted: what waits goes at once, and so does what follows", async (t) => {
  const { ApiRate } = await import("../collector/api-rate.js");
  let waited = 0;
  const rate = new ApiRate(0.1, 1, (s) => (waited += s));
  const done: string[] = [];
  await rate.call(async () => done.push("first"));
  // At 0.1 a second, the second request waits 10 s.
  const second = rate.call(async () => done.push("second"));
  await new Promise((r) => setTimeout(r, 50));
  t.deepEqual(done, ["first"]);
  t.true(waited > 9, `${waited}`);
  const started = performance.now();
  rate.unlimit();
  await second;
  await rate.call(async () => done.push("third"));
  t.deepEqual(done, ["first", "second", "third"]);
  t.true(performance.now() - started < 1000);
});
