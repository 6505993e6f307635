import test from "ava";
import { INTERNAL_ERROR, TurnBatch, type Reply } from "../webhook/turn-batch.js";

/** The webhook's turn batches on plain data: order, isolation of a failure, the cap per turn. */

const turn = () => new Promise<void>((done) => setImmediate(done));

test("a turn's answers are all worked out, in order, before any is sent; each goes to its own review", async (t) => {
  const events: string[] = [];
  const batch = new TurnBatch();
  for (const name of ["a", "b", "c"]) {
    batch.add(
      () => {
        events.push(`answer ${name}`);
        return { status: 200, body: name };
      },
      (reply) => events.push(`send ${name}: ${reply.body}`),
    );
  }
  t.deepEqual(events, [], "nothing runs before the turn ends");
  await turn();
  t.deepEqual(events, ["answer a", "answer b", "answer c", "send a: a", "send b: b", "send c: c"]);
});

test("an answer that throws is an internal error for its review alone, and is reported", async (t) => {
  const failures: unknown[] = [];
  const phases: string[] = [];
  const sent: Reply[] = [];
  const batch = new TurnBatch(64, (e, when) => {
    failures.push(e);
    phases.push(when);
  });
  batch.add(
    () => ({ status: 200, body: "first" }),
    (r) => sent.push(r),
  );
  batch.add(
    () => {
      throw new TypeError("a bug");
    },
    (r) => sent.push(r),
  );
  batch.add(
    () => ({ status: 200, body: "third" }),
    (r) => sent.push(r),
  );
  await turn();
  t.deepEqual(sent, [
    { status: 200, body: "first" },
    INTERNAL_ERROR,
    { status: 200, body: "third" },
  ]);
  t.is(INTERNAL_ERROR.status, 500);
  t.is(failures.length, 1);
  t.regex(String(failures[0]), /a bug/);
  t.deepEqual(phases, ["answer"], "told it was the answer that failed, not the send");
});

test("a send that throws does not keep the turn's other answers from going out", async (t) => {
  const failures: [string, string][] = [];
  const sent: string[] = [];
  const batch = new TurnBatch(64, (e, when) => failures.push([when, (e as Error).message]));
  batch.add(
    () => ({ status: 200, body: "a" }),
    () => {
      throw new Error("socket gone");
    },
  );
  batch.add(
    () => ({ status: 200, body: "b" }),
    (r) => sent.push(r.body),
  );
  await turn();
  t.deepEqual(sent, ["b"]);
  t.deepEqual(failures, [["send", "socket gone"]]);
});

test("past the cap, the rest waits for the next turn, after the first part is sent", async (t) => {
  const events: string[] = [];
  const batch = new TurnBatch(2);
  for (const name of ["a", "b", "c", "d", "e"]) {
    batch.add(
      () => {
        events.push(`answer ${name}`);
        return { status: 200, body: name };
      },
      (r) => events.push(`send ${r.body}`),
    );
  }
  await turn();
  t.deepEqual(events, ["answer a", "answer b", "send a", "send b"]);
  await turn();
  await turn();
  t.deepEqual(events.slice(4), ["answer c", "answer d", "send c", "send d", "answer e", "send e"]);
  // A review added later starts a turn of its own.
  batch.add(
    () => ({ status: 200, body: "f" }),
    (r) => events.push(`send ${r.body}`),
  );
  await turn();
  t.is(events.at(-1), "send f");
});
