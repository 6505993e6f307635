import test from "ava";
import { parseDnsService, parseNodeLocalDns } from "../src/cli/dns-servers.js";
import { ServiceIndex } from "../src/collector/attribute.js";
import {
  BREAK_MS,
  dnsServersOf,
  GAPS_MAX,
  hearing,
  stepCoverage,
  unheardServers,
  type CoverageRecord,
  type DnsServers,
  type Hearing,
} from "../src/collector/coverage.js";
import { mergeDeclared } from "../src/collector/declared.js";
import { EgressState } from "../src/collector/egress-state.js";
import { mergeStatus } from "../src/collector/status.js";
import { UsageError } from "../src/errors.js";
import { pod, podObject } from "./helpers/pods.js";
import { PodIpIndex, podRecord } from "../src/collector/pods.js";
import { owners } from "./helpers/pods.js";

/** Coverage (DESIGN: silence only where it was heard), from plain data. */

const coredns = (n: string, ip: string) => ({ key: `kube-system/coredns-${n}`, ips: [ip] });

function servers(
  opts: { cluster?: string[]; nodeLocal?: Record<string, string> } = {},
): DnsServers {
  return {
    service: "kube-system/kube-dns",
    serviceIps: ["10.96.0.10"],
    cluster: (opts.cluster ?? ["10.244.0.2", "10.244.1.2"]).map((ip, i) => coredns(`c${i}`, ip)),
    nodeLocal: new Map(
      Object.entries(opts.nodeLocal ?? {}).map(([node, ip]) => [
        node,
        { key: `kube-system/node-local-dns-${node}`, ips: [ip] },
      ]),
    ),
  };
}

function withSpec(spec: Record<string, unknown>, name = "web-1") {
  const o = podObject({ name, ip: "10.244.0.7", owner: "ReplicaSet/web-5d8f7" });
  o.spec = { ...(o.spec as object), ...spec };
  const r = podRecord(o, owners({ "ReplicaSet/web-5d8f7": "Deployment/web" }));
  if (!r) throw new Error("no record");
  return r;
}

const web = withSpec({ nodeName: "node-a" });

test("a ClusterFirst pod is heard while every cluster DNS pod has a session", (t) => {
  const dns = servers();
  t.deepEqual(hearing([web], dns, new Set(["10.244.0.2", "10.244.1.2"])), { heard: true });
  const h = hearing([web], dns, new Set(["10.244.0.2"]));
  t.deepEqual(h, {
    heard: false,
    why: "no dnstap session from kube-system/coredns-c1",
    structural: false,
  });
  t.deepEqual(unheardServers(dns, new Set(["10.244.0.2"])), ["kube-system/coredns-c1"]);
});

test("no known cluster DNS server is never heard, and says which Service", (t) => {
  const h = hearing([web], servers({ cluster: [] }), new Set(["10.244.0.2"]));
  t.false(h.heard);
  t.regex(h.heard ? "" : h.why, /Service kube-system\/kube-dns has no running pods/);
});

test("pods that bypass the cluster DNS can never be heard, and say why at once", (t) => {
  const dns = servers();
  const all = new Set(["10.244.0.2", "10.244.1.2"]);
  const why = (spec: Record<string, unknown>) => {
    const h = hearing([withSpec(spec)], dns, all);
    return h.heard ? "heard" : `${h.why} (${h.structural ? "structural" : "transient"})`;
  };
  t.is(why({ dnsPolicy: "Default" }), "pods use dnsPolicy Default (structural)");
  t.regex(why({ hostNetwork: true }), /host network with dnsPolicy ClusterFirst.*structural/);
  t.regex(
    why({ hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" }),
    /host network: their lookups come from the node's address.*structural/,
  );
  t.regex(
    why({ dnsPolicy: "None", dnsConfig: { nameservers: ["8.8.8.8"] } }),
    /dnsPolicy None with nameservers 8\.8\.8\.8, not the cluster DNS \(structural\)/,
  );
  t.is(why({ dnsPolicy: "None", dnsConfig: { nameservers: ["10.96.0.10"] } }), "heard");
  // Nameservers added beside the cluster DNS are asked too (rotate, fallback): not heard.
  t.is(
    why({ dnsConfig: { nameservers: ["8.8.8.8"] } }),
    "pods also ask nameservers 8.8.8.8 (structural)",
  );
  t.is(
    why({ dnsPolicy: "None", dnsConfig: { nameservers: ["10.96.0.10", "1.1.1.1"] } }),
    "pods also ask nameservers 1.1.1.1 (structural)",
  );
  t.is(why({ dnsPolicy: "ClusterFirst" }), "heard");
});

test("with NodeLocal DNSCache, a pod is heard through its own node's cache", (t) => {
  const dns = servers({ nodeLocal: { "node-a": "192.168.1.10" } });
  // The cluster DNS pods are not on its path (the cache asks them, not the pod).
  t.deepEqual(hearing([web], dns, new Set(["192.168.1.10"])), { heard: true });
  const h = hearing([web], dns, new Set(["10.244.0.2", "10.244.1.2"]));
  t.false(h.heard);
  t.regex(h.heard ? "" : h.why, /no dnstap session from kube-system\/node-local-dns-node-a/);
  // A pod on a node without a cache still asks the cluster DNS pods.
  const other = withSpec({ nodeName: "node-b" }, "web-2");
  t.deepEqual(hearing([other], dns, new Set(["10.244.0.2", "10.244.1.2"])), { heard: true });
  t.false(hearing([web, other], dns, new Set(["10.244.0.2", "10.244.1.2"])).heard);
  // dnsPolicy None pointed at the cache's link-local address is the cache.
  const direct = withSpec(
    { nodeName: "node-a", dnsPolicy: "None", dnsConfig: { nameservers: ["169.254.20.10"] } },
    "web-3",
  );
  t.deepEqual(hearing([direct], dns, new Set(["192.168.1.10"])), { heard: true });
});

const T0 = Date.parse("2026-11-25T10:00:00Z");
const unheard: Hearing = {
  heard: false,
  why: "no dnstap session from kube-system/coredns-c1",
  structural: false,
};
const heard: Hearing = { heard: true };

function run(steps: Array<[number, Hearing]>, prev?: CoverageRecord) {
  let record = prev;
  const out = [];
  for (const [at, h] of steps) {
    const s = stepCoverage(record, h, T0 + at);
    record = s.record;
    out.push(s);
  }
  return out;
}

test("a break of two minutes or less is no gap, and coverage stays full", (t) => {
  const s = run([
    [0, heard],
    [10_000, unheard],
    [10_000 + BREAK_MS - 1, unheard],
    [10_000 + BREAK_MS, heard],
  ]);
  t.true(s.every((x) => x.gap === undefined));
  t.true(s.every((x) => x.record.coverage.state === "full"));
  t.true(s[0]?.changed, "a first evaluation is news: what is stored may say otherwise");
  t.true(s.slice(1).every((x) => !x.changed));
});

test("a longer break turns coverage none, and becomes a gap when the servers are heard again", (t) => {
  const s = run([
    [0, unheard],
    [BREAK_MS + 1, unheard],
    [BREAK_MS + 60_000, unheard],
    [10 * 60_000, heard],
  ]);
  t.deepEqual(s[1]?.record.coverage, {
    state: "none",
    reason: "no dnstap session from kube-system/coredns-c1",
  });
  t.true(s[1]?.changed);
  t.false(s[2]?.changed, "the same coverage is not news");
  t.deepEqual(s[3]?.gap, { from: T0, to: T0 + 10 * 60_000, why: unheard.heard ? "" : unheard.why });
  t.deepEqual(s[3]?.record.coverage, { state: "full" });
  t.true(s[3]?.changed);
});

test("a structural reason turns coverage none at once", (t) => {
  const [s] = run([[0, { heard: false, why: "pods use dnsPolicy Default", structural: true }]]);
  t.deepEqual(s?.record.coverage, { state: "none", reason: "pods use dnsPolicy Default" });
  t.true(s?.changed);
});

test("a break that began before a restart (a stale Lease) is a gap once heard", (t) => {
  const [s] = run([[5 * 60_000, heard]], {
    coverage: { state: "full" },
    breakFrom: T0,
    breakWhy: "no collector heard every DNS server",
  });
  t.deepEqual(s?.gap, {
    from: T0,
    to: T0 + 5 * 60_000,
    why: "no collector heard every DNS server",
  });
});

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, "Z");

test("a gap restarts observingSince, and gaps from every writer are kept, bounded", (t) => {
  const state = new EgressState();
  const w = { namespace: "dev", name: "web", kind: "Deployment" };
  state.watch(w, T0 - 30 * 86_400_000);
  const gap = {
    from: T0 - 3_600_000,
    to: T0 - 600_000,
    why: "no collector heard every DNS server",
  };
  state.cover(w, { state: "full" }, gap);
  const [snap] = state.takeDirty();
  const stored = {
    observingSince: iso(T0 - 40 * 86_400_000),
    gaps: [{ from: iso(T0 - 86_400_000), to: iso(T0 - 80_000_000), why: "another replica's" }],
    destinations: [],
  };
  const merged = mergeStatus(stored, snap, T0);
  t.true(merged.changed);
  t.is(merged.status.observingSince, iso(gap.to), "the observable period starts after the gap");
  t.deepEqual(merged.status.coverage, { state: "full" });
  t.deepEqual(
    (merged.status.gaps as Array<{ why: string }>).map((g) => g.why),
    ["another replica's", "no collector heard every DNS server"],
  );
  // Two replicas see the same break, each at its own times: one gap.
  const other = { ...gap, from: gap.from + 700, to: gap.to + 800 };
  const both = mergeStatus(merged.status, { ...snap!, gaps: [other] }, T0);
  t.deepEqual((both.status.gaps as Array<{ from: string; to: string }>).slice(-1), [
    { from: iso(gap.from), to: iso(other.to), why: gap.why },
  ]);
  t.is(both.status.observingSince, iso(other.to));
  // Merged again, nothing is news.
  t.false(mergeStatus(merged.status, snap, T0 + 1000).changed);
  // Many gaps: the most recent GAPS_MAX stay.
  const many = Array.from({ length: 30 }, (_, i) => ({
    from: iso(T0 - (200 - 2 * i) * 60_000),
    to: iso(T0 - (199 - 2 * i) * 60_000),
    why: `gap ${i}`,
  }));
  const bounded = mergeStatus({ gaps: many, destinations: [] }, snap, T0);
  const kept = bounded.status.gaps as Array<{ why: string }>;
  t.is(kept.length, GAPS_MAX);
  t.is(kept[kept.length - 1]?.why, "no collector heard every DNS server");
});

test("coverage none is written with its reason, and read back by the merge", (t) => {
  const state = new EgressState();
  const w = { namespace: "dev", name: "web", kind: "Deployment" };
  state.cover(w, { state: "none", reason: "pods use dnsPolicy Default" });
  const [snap] = state.takeDirty();
  const merged = mergeStatus({ coverage: { state: "full" }, destinations: [] }, snap, T0);
  t.true(merged.changed);
  t.deepEqual(merged.status.coverage, { state: "none", reason: "pods use dnsPolicy Default" });
});

test("--dns-service and --node-local-dns: names and selectors, or one clear usage error", (t) => {
  t.deepEqual(parseDnsService("kube-system/kube-dns"), {
    namespace: "kube-system",
    name: "kube-dns",
  });
  t.deepEqual(parseNodeLocalDns("kube-system/k8s-app=node-local-dns,tier=dns"), {
    namespace: "kube-system",
    selector: { "k8s-app": "node-local-dns", tier: "dns" },
  });
  t.is(parseNodeLocalDns("none"), undefined);
  for (const bad of ["kube-dns", "a/b/c", "Kube/x", ""]) {
    t.throws(() => parseDnsService(bad), { instanceOf: UsageError });
  }
  for (const bad of ["k8s-app=x", "kube-system/", "kube-system/=x", "kube-system/a=b c"]) {
    t.throws(() => parseNodeLocalDns(bad), { instanceOf: UsageError });
  }
  // Kept so the pod helper stays used the way the other collector tests use it.
  t.truthy(pod({ name: "x", ip: "10.0.0.1" }));
});

test("status.declared keeps at most the CRD's 2,000 items, and says it was cut", (t) => {
  const entries = Array.from({ length: 2001 }, (_, i) => ({
    key: `d${String(i).padStart(4, "0")}`,
    target: { internet: { domains: [`d${i}.example.com`] } },
  }));
  const m = mergeDeclared([], entries, "dev", T0);
  t.is(m.declared.length, 2000);
  t.true(m.cut);
  t.false(mergeDeclared([], entries.slice(0, 2000), "dev", T0).cut);
});

test("the DNS servers are the ready endpoints of the DNS Service, each once, else the pods its selector matches", (t) => {
  const pods = new PodIpIndex();
  const dnsPod = (name: string, ip: string) =>
    pod({ name, namespace: "kube-system", ip, labels: { "k8s-app": "kube-dns" } });
  pods.set(dnsPod("coredns-b", "10.244.0.3"));
  pods.set(dnsPod("coredns-a", "10.244.0.2"));
  pods.set(dnsPod("coredns-crashing", "10.244.0.4"));
  const services = new ServiceIndex();
  services.setService({
    namespace: "kube-system",
    name: "kube-dns",
    selector: { "k8s-app": "kube-dns" },
    clusterIps: ["10.96.0.10"],
  });
  const svc = { namespace: "kube-system", name: "kube-dns" };
  // Without EndpointSlices (no controller): the pods the selector matches.
  t.deepEqual(
    dnsServersOf(services, pods, svc).cluster.map((s) => s.key),
    ["kube-system/coredns-a", "kube-system/coredns-b", "kube-system/coredns-crashing"],
  );
  // A dual-stack Service has a slice per family; a pod that is not ready serves nobody.
  for (const family of ["v4", "v6"]) {
    services.setSlice(`kube-system/kube-dns-${family}`, {
      namespace: "kube-system",
      service: "kube-dns",
      pods: [
        { namespace: "kube-system", name: "coredns-b", ready: true },
        { namespace: "kube-system", name: "coredns-a", ready: true },
        { namespace: "kube-system", name: "coredns-crashing", ready: false },
      ],
    });
  }
  const dns = dnsServersOf(services, pods, svc);
  t.deepEqual(
    dns.cluster.map((s) => s.key),
    ["kube-system/coredns-a", "kube-system/coredns-b"],
  );
  t.deepEqual(dns.serviceIps, ["10.96.0.10"]);
});

test("a replica that has not heard a break end does not write its none over another's full", (t) => {
  const w = { namespace: "dev", name: "web", kind: "Deployment" };
  const breakFrom = T0 - 10 * 60_000;
  const heardAgain = T0 - 60_000;
  // Replica A heard the DNS server again: full, since then.
  const a = new EgressState();
  a.cover(w, { state: "full" }, undefined, heardAgain);
  const fromA = mergeStatus(
    { coverage: { state: "none", reason: "x" }, destinations: [] },
    a.takeDirty()[0],
    T0,
  );
  t.deepEqual(fromA.status.coverage, { state: "full", since: iso(heardAgain) });
  // Replica B, a moment behind, still judges the break it saw begin: none, since its start.
  const b = new EgressState();
  b.cover(w, { state: "none", reason: "DNS server not heard" }, undefined, breakFrom);
  const fromB = mergeStatus(fromA.status, b.takeDirty()[0], T0 + 1000);
  t.deepEqual(
    fromB.status.coverage,
    { state: "full", since: iso(heardAgain) },
    "A's newer news stays",
  );
  t.false(fromB.changed, "nothing to write");
  // A new break, begun after the pods were heard, is news: it is written.
  const c = new EgressState();
  c.cover(w, { state: "none", reason: "DNS server not heard" }, undefined, T0);
  const fromC = mergeStatus(fromB.status, c.takeDirty()[0], T0 + 3 * 60_000);
  t.deepEqual(fromC.status.coverage, {
    state: "none",
    reason: "DNS server not heard",
    since: iso(T0),
  });
  // And B, once it hears the end too, agrees: the earlier start is kept, nothing is written.
  b.cover(w, { state: "full" }, undefined, heardAgain + 5000);
  const agreed = mergeStatus(fromA.status, b.takeDirty()[0], T0 + 2000);
  t.false(agreed.changed);
  t.deepEqual(agreed.status.coverage, { state: "full", since: iso(heardAgain) });
});

test("coverage stored without a start (an older collector's) is not rewritten for it", (t) => {
  const w = { namespace: "dev", name: "web", kind: "Deployment" };
  const s = new EgressState();
  s.cover(w, { state: "full" }, undefined, T0);
  const merged = mergeStatus(
    { coverage: { state: "full" }, destinations: [] },
    s.takeDirty()[0],
    T0,
  );
  t.false(merged.changed);
  t.deepEqual(merged.status.coverage, { state: "full" });
});

test("a coverage's start is when its state began: the break's start, or when pods were heard again", (t) => {
  const heard: Hearing = { heard: true };
  const unheard = { heard: false, structural: false, why: "DNS server not heard" } as Hearing;
  let r = stepCoverage(undefined, heard, T0).record;
  t.is(r.since, T0);
  r = stepCoverage(r, heard, T0 + 10_000).record;
  t.is(r.since, T0, "still full: the same start");
  r = stepCoverage(r, unheard, T0 + 20_000).record;
  t.is(r.coverage.state, "full", "a short break is not yet none");
  r = stepCoverage(r, unheard, T0 + 20_000 + BREAK_MS + 1).record;
  t.deepEqual([r.coverage.state, r.since], ["none", T0 + 20_000]);
  r = stepCoverage(r, heard, T0 + 20_000 + BREAK_MS + 5000).record;
  t.deepEqual([r.coverage.state, r.since], ["full", T0 + 20_000 + BREAK_MS + 5000]);
});
