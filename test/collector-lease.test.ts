import test from "ava";
import { leaseReading, listeningFromLease } from "../src/collector-lease.js";

const NOW = Date.parse("2026-11-25T10:00:00Z");

test("a Lease renewed within 5 minutes means the collector is listening", (t) => {
  const lease = leaseReading({ spec: { renewTime: "2026-11-25T09:56:00.000000Z" } });
  t.deepEqual(lease, { found: true, renewTime: Date.parse("2026-11-25T09:56:00Z") });
  t.deepEqual(listeningFromLease(lease, "otter-egress", NOW), { state: "live" });
});

test("client-node's Date values and acquireTime are read too", (t) => {
  t.deepEqual(leaseReading({ spec: { renewTime: new Date(NOW) } }), {
    found: true,
    renewTime: NOW,
  });
  t.deepEqual(leaseReading({ spec: { acquireTime: "2026-11-25T09:00:00Z" } }), {
    found: true,
    renewTime: Date.parse("2026-11-25T09:00:00Z"),
  });
});

test("an old, never-renewed, missing or unreadable Lease means silence proves nothing", (t) => {
  const old = listeningFromLease(
    leaseReading({ spec: { renewTime: "2026-11-25T09:54:59Z" } }),
    "ns",
    NOW,
  );
  t.like(old, { state: "stopped", since: Date.parse("2026-11-25T09:54:59Z") });
  t.like(listeningFromLease(leaseReading({ spec: {} }), "ns", NOW), { state: "stopped" });
  t.like(listeningFromLease({ found: false, why: "missing" }, "ns", NOW), {
    state: "stopped",
    why: "no collector Lease ns/otter-egress-collector exists",
  });
  t.like(listeningFromLease({ found: false, why: "forbidden" }, "ns", NOW), { state: "stopped" });
});
