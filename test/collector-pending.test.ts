import test from "ava";
import fc from "fast-check";
import { PendingAnswers } from "../src/collector/pending.js";

/** Answers held for a client IP that no pod has yet, until the pod shows up or time runs out. */

test("an answer held for an unknown IP is handed over when its pod appears", (t) => {
  const p = new PendingAnswers<string>(5000, 100);
  p.add("10.244.0.9", "api.openai.com", 1000);
  p.add("10.244.0.9", "nats", 1200);
  p.add("10.244.0.7", "redis", 1300);
  t.is(p.size, 3);
  t.deepEqual(p.take("10.244.0.9"), ["api.openai.com", "nats"]);
  t.deepEqual(p.take("10.244.0.9"), []);
  t.is(p.size, 1);
  t.deepEqual(p.expire(6000), []);
  t.deepEqual(p.expire(6300), ["redis"]);
  t.is(p.size, 0);
});

test("what nobody claims within the hold time leaves, to be counted as lost", (t) => {
  const p = new PendingAnswers<number>(5000, 100);
  for (let i = 0; i < 10; i++) p.add(`10.0.0.${i % 3}`, i, i * 1000);
  t.deepEqual(p.expire(9999), [0, 1, 2, 3, 4]);
  t.is(p.size, 5);
  t.deepEqual(p.take("10.0.0.0"), [6, 9]);
  t.deepEqual(p.expire(20_000), [5, 7, 8]);
});

test("the bound holds: the oldest answer makes room and is returned as lost", (t) => {
  const p = new PendingAnswers<number>(60_000, 3);
  t.deepEqual(p.add("a", 1, 0), []);
  t.deepEqual(p.add("b", 2, 1), []);
  t.deepEqual(p.add("a", 3, 2), []);
  t.deepEqual(p.add("c", 4, 3), [1]);
  t.is(p.size, 3);
  t.deepEqual(p.take("a"), [3]);
  t.deepEqual(p.add("d", 5, 4), []);
  t.deepEqual(p.add("d", 6, 5), [2]);
});

test("property: every answer leaves exactly once, by take, expiry or eviction", (t) => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({
            op: fc.constant("add" as const),
            ip: fc.integer({ min: 0, max: 4 }),
            dt: fc.nat(3000),
          }),
          fc.record({
            op: fc.constant("take" as const),
            ip: fc.integer({ min: 0, max: 4 }),
            dt: fc.nat(3000),
          }),
          fc.record({ op: fc.constant("expire" as const), ip: fc.constant(0), dt: fc.nat(3000) }),
        ),
        { maxLength: 200 },
      ),
      (ops) => {
        const p = new PendingAnswers<number>(5000, 20);
        let now = 0;
        let next = 0;
        const out: number[] = [];
        for (const o of ops) {
          now += o.dt;
          if (o.op === "add") out.push(...p.add(`ip${o.ip}`, next++, now));
          else if (o.op === "take") out.push(...p.take(`ip${o.ip}`));
          else out.push(...p.expire(now));
          if (p.size > 20) return false;
        }
        out.push(...p.expire(now + 10_000));
        return (
          p.size === 0 && [...out].sort((a, b) => a - b).join() === [...Array(next).keys()].join()
        );
      },
    ),
  );
  t.pass();
});
