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
