import test from "ava";
import { Flusher } from "../collector/flusher.js";

/** The collector's flushes: one at a time, and a last one that misses nothing. */

function gatedPublisher() {
  const calls: Array<() => void> = [];
  const publish = () => new Promise<void>((resolve) => calls.push(resolve));
  return { calls, publish };
}

const tick = () => new Promise((r) => setImmediate(r));

test("a flush asked for while one runs joins it", async (t) => {
  const p = gatedPublisher();
  const f = new Flusher(p.publish);
  const a = f.flush();
  const b = f.flush();
  t.is(p.calls.length, 1);
  p.calls[0]?.();
  await Promise.all([a, b]);
  const c = f.flush();
  t.is(p.calls.length, 2, "a later flush publishes again");
  p.calls[1]?.();
  await c;
});

test("the last flush waits for the one in progress, then publishes what came after it", async (t) => {
  const p = gatedPublisher();
  const f = new Flusher(p.publish);
  void f.flush(); // a timer's flush has read its snapshot and is writing
  let done = false;
  const last = f.final().then(() => (done = true));
  await tick();
  t.is(p.calls.length, 1, "nothing new starts while the first runs");
  p.calls[0]?.();
  await tick();
  t.is(p.calls.length, 2, "then one more, for what arrived meanwhile");
  t.false(done);
  p.calls[1]?.();
  await last;
  t.true(done);
});

test("a failed flush in progress does not stop the last one", async (t) => {
  let n = 0;
  const f = new Flusher(() =>
    ++n === 1 ? Promise.reject(new Error("conflict")) : Promise.resolve(),
  );
  const first = f.flush().catch(() => undefined);
  await f.final();
  await first;
  t.is(n, 2);
});
