import test from "ava";
import {
  parseSnifferRequest,
  snifferOutcomes,
  type SnifferRequest,
} from "../src/collector/sniffer.js";
import fc from "fast-check";
import {
  endpointSliceRecord,
  observeDnstap,
  serviceRecord,
  ServiceIndex,
  type AttributionContext,
} from "../src/collector/attribute.js";
import { declaringIntents } from "../src/collector/declared.js";
import { InputError } from "../src/errors.js";
import { decodeDnstap } from "../src/collector/dnstap.js";
import {
  DEFAULT_LIMITS,
  EgressState,
  snapshot,
  type Observation,
} from "../src/collector/egress-state.js";
import {
  identify,
  identitySource,
  podRecord,
  PodIpIndex,
  workloadOfPod,
} from "../src/collector/pods.js";
import { objectNameFor } from "../src/collector/object-name.js";
import { canonical } from "../src/canonical.js";
import { mergeStatus } from "../src/collector/status.js";
import { observedFromObject } from "../src/observed-egress.js";
import { dnsResponse, dnstapFrame, type Answer } from "./helpers/dnstap.js";
import { owners, pod, podObject } from "./helpers/pods.js";

const T = Date.parse("2026-11-25T09:00:00Z");
const MIN = 60_000;
/** Every move of lastSeen counts (the merge's own rules, apart from the granularity). */
const EXACT = { ...DEFAULT_LIMITS, granularityMs: 0 };

test("a pod's workload: the annotation, else its root controller, else the pod", (t) => {
  const lookup = owners({
    "ReplicaSet/web-7d9f8": "Deployment/web",
    "Job/nightly-29000": "CronJob/nightly",
  });
  const of = (o: Parameters<typeof podObject>[0]) => workloadOfPod(podObject(o), lookup);
  t.deepEqual(of({ name: "web-7d9f8-x", owner: "ReplicaSet/web-7d9f8" }), {
    namespace: "dev",
    name: "web",
    kind: "Deployment",
  });
  t.deepEqual(
    of({
      name: "web-7d9f8-x",
      owner: "ReplicaSet/web-7d9f8",
      annotations: { "intents.otterize.com/workload-name": "storefront" },
    }),
    { namespace: "dev", name: "storefront" },
  );
  // A ReplicaSet the informer has not seen yet: its name says which Deployment made it.
  t.deepEqual(
    of({
      name: "api-5c4b-y",
      owner: "ReplicaSet/api-5c4b",
      labels: { "pod-template-hash": "5c4b" },
    }),
    { namespace: "dev", name: "api", kind: "Deployment" },
  );
  t.deepEqual(of({ name: "solo-rs-z", owner: "ReplicaSet/solo-rs" }), {
    namespace: "dev",
    name: "solo-rs",
    kind: "ReplicaSet",
  });
  t.deepEqual(of({ name: "n-1", owner: "Job/nightly-29000" }), {
    namespace: "dev",
    name: "nightly",
    kind: "CronJob",
  });
  t.deepEqual(of({ name: "db-0", owner: "StatefulSet/db" }), {
    namespace: "dev",
    name: "db",
    kind: "StatefulSet",
  });
  t.deepEqual(of({ name: "debug" }), { namespace: "dev", name: "debug", kind: "Pod" });
  t.is(podRecord(podObject({ name: "pending" }), lookup), undefined, "no IP yet: not indexed");
});

test("identity as Otterize resolves it: first owners through any kind, dots as underscores", (t) => {
  const lookup = owners({
    "ReplicaSet/api-6d4f8b7c9": "Rollout/api",
    "ReplicaSet/web-7d9f8": "Deployment/web.v2",
    "Deployment/kafka-entity-operator": "Kafka/events",
    "Job/report-29400000": "CronJob/report",
  });
  const id = (o: Parameters<typeof podObject>[0]) => identify(identitySource(podObject(o)), lookup);
  // An Argo Rollout's ReplicaSet is the Rollout's.
  t.deepEqual(id({ name: "api-6d4f8b7c9-x", owner: "ReplicaSet/api-6d4f8b7c9" }).workload, {
    namespace: "dev",
    name: "api",
    kind: "Rollout",
  });
  // An owner's dots become underscores (Otterize's name); an annotation is taken as it is.
  t.deepEqual(id({ name: "web-7d9f8-x", owner: "ReplicaSet/web-7d9f8" }).workload, {
    namespace: "dev",
    name: "web_v2",
    kind: "Deployment",
  });
  t.deepEqual(
    id({ name: "p", annotations: { "intents.otterize.com/service-name": "legacy.name" } }).workload,
    { namespace: "dev", name: "legacy.name" },
    "the deprecated annotation still names the workload",
  );
  // A Deployment made by an operator belongs to the operator's object.
  t.deepEqual(id({ name: "k-1", owner: "Deployment/kafka-entity-operator" }).workload, {
    namespace: "dev",
    name: "events",
    kind: "Kafka",
  });
  // A root whose own owner is not known yet is read (GET), keeping its name meanwhile.
  const db = id({ name: "db-0", owner: "StatefulSet/db" });
  t.deepEqual(db.workload, { namespace: "dev", name: "db", kind: "StatefulSet" });
  t.is(db.fetch?.key, "StatefulSet:dev/db");
  // A Job not known yet: provisional, and said so (its answers wait for it).
  const early = id({ name: "report-x", owner: "Job/report-29400001" });
  t.is(early.unresolved, "Job:dev/report-29400001");
  t.deepEqual(id({ name: "report-y", owner: "Job/report-29400000" }).workload, {
    namespace: "dev",
    name: "report",
    kind: "CronJob",
  });
  // The first owner reference is followed, as Otterize does, not the controller one.
  const two = podObject({ name: "two" });
  (two.metadata as Record<string, unknown>).ownerReferences = [
    { apiVersion: "apps/v1", kind: "StatefulSet", name: "first", uid: "1" },
    { apiVersion: "apps/v1", kind: "DaemonSet", name: "second", uid: "2", controller: true },
  ];
  t.deepEqual(identify(identitySource(two), lookup).workload, {
    namespace: "dev",
    name: "first",
    kind: "StatefulSet",
  });
});

test("a workload name that is no object name gets a valid one, with a hash of the real one", (t) => {
  t.is(objectNameFor({ namespace: "dev", name: "web" }), "web");
  t.is(objectNameFor({ namespace: "dev", name: "api.v2" }), "api.v2");
  const a = objectNameFor({ namespace: "dev", name: "web_v2" });
  const b = objectNameFor({ namespace: "dev", name: "web-v2" });
  t.regex(a, /^web-v2-[0-9a-f]{10}$/);
  t.not(a, b, "names that differ keep different objects");
  t.regex(
    objectNameFor({ namespace: "dev", name: "Storefront Web!" }),
    /^storefront-web-[0-9a-f]{10}$/,
  );
  t.regex(objectNameFor({ namespace: "dev", name: "___" }), /^workload-[0-9a-f]{10}$/);
  t.true(objectNameFor({ namespace: "dev", name: "x_".repeat(200) }).length <= 253);
});

test("a reused IP belongs to the pod that had it at the answer's time; hostNetwork pods are never named", (t) => {
  const index = new PodIpIndex();
  index.set(
    pod({ name: "old", owner: "StatefulSet/old", ip: "10.0.0.7", start: "2026-11-25T08:00:00Z" }),
  );
  index.gone("uid-dev-old", T);
  index.set(
    pod({ name: "new", owner: "StatefulSet/new", ip: "10.0.0.7", start: "2026-11-25T09:00:05Z" }),
  );
  t.is(index.at("10.0.0.7", T - 10 * MIN)?.name, "old");
  t.is(index.at("10.0.0.7", T + MIN)?.name, "new");
  t.is(index.at("10.0.0.7", Date.parse("2026-11-25T07:00:00Z")), undefined, "before either");
  index.set(pod({ name: "node-agent", ip: "192.168.1.10", hostNetwork: true }));
  t.is(index.at("192.168.1.10", T), undefined);
  index.set(pod({ name: "dual", ips: ["10.0.0.9", "fd00::9"] }));
  t.is(index.at("fd00::9", T)?.name, "dual");
  index.prune(T + 10 * MIN);
  t.is(index.at("10.0.0.7", T - 10 * MIN), undefined, "a pod gone long ago is forgotten");
  t.is(index.at("10.0.0.7", T + MIN)?.name, "new");
});

const web = { namespace: "dev", name: "web", kind: "Deployment" };
const dns = (name: string, ips: string[], timeMs: number, port?: number): Observation => ({
  workload: web,
  target: { kind: "internet", dnsName: name, ips },
  timeMs,
  ...(port === undefined ? {} : { port }),
});

test("only material changes make a workload dirty: new destination, IP or port, or lastSeen past the granularity", (t) => {
  const s = new EgressState({ ...DEFAULT_LIMITS, granularityMs: MIN });
  t.true(s.record(dns("api.example.com", ["192.0.2.1"], T)));
  t.is(s.takeDirty().length, 1);
  t.false(s.record(dns("api.example.com", ["192.0.2.1"], T + 30_000)), "seen again, 30 s later");
  t.deepEqual(s.takeDirty(), []);
  t.true(s.record(dns("api.example.com", ["192.0.2.2"], T + 40_000)), "a new IP");
  s.takeDirty();
  t.true(s.record(dns("api.example.com", ["192.0.2.2"], T + 3 * MIN)), "past the granularity");
  s.takeDirty();
  t.true(s.recordConnection(web, "192.0.2.2", 443, T + 3 * MIN), "a port on a resolved IP");
  const [snap] = s.takeDirty();
  t.deepEqual(
    snap?.destinations.map((d) => [d.key, d.ports, d.target]),
    [
      [
        "api.example.com",
        [443],
        { kind: "internet", dnsName: "api.example.com", ips: ["192.0.2.1", "192.0.2.2"] },
      ],
    ],
  );
  t.true(s.recordConnection(web, "198.51.100.9", 5432, T + 3 * MIN), "an IP no name resolved to");
  t.deepEqual(
    s.takeDirty()[0]?.destinations.map((d) => d.key),
    ["api.example.com", "ip:198.51.100.9"],
  );
  s.markDirty("dev/web");
  t.is(s.takeDirty().length, 1, "a failed write is retried");
});

test("every list is bounded, the most recent kept, and the cut is named", (t) => {
  const s = new EgressState({ destinations: 3, ips: 2, ports: 2, granularityMs: MIN });
  for (let i = 0; i < 5; i++) s.record(dns(`n${i}.example.com`, [], T + i * 1000));
  s.record(dns("n4.example.com", ["192.0.2.1", "192.0.2.2", "192.0.2.3"], T + 10_000));
  s.record({ ...dns("n4.example.com", [], T + 11_000), port: 80 });
  s.record({ ...dns("n4.example.com", [], T + 12_000), port: 443 });
  s.record({ ...dns("n4.example.com", [], T + 13_000), port: 8443 });
  const snap = snapshot(s.get("dev/web") ?? s.workload(web));
  t.deepEqual(
    snap.destinations.map((d) => d.key),
    ["n2.example.com", "n3.example.com", "n4.example.com"],
  );
  const n4 = snap.destinations.find((d) => d.key === "n4.example.com");
  t.deepEqual(n4?.target.kind === "internet" ? n4.target.ips : [], ["192.0.2.2", "192.0.2.3"]);
  t.deepEqual(n4?.ports, [80, 443]);
  t.deepEqual(snap.truncated, ["destinations", "ips of n4.example.com", "ports of n4.example.com"]);
  const { status } = mergeStatus(undefined, snap, T);
  t.is(status.truncated, "destinations; ips of n4.example.com; ports of n4.example.com");
});

test("merging keeps both writers' data, and a status read back from the API server is unchanged", (t) => {
  const a = new EgressState();
  a.watch(web, T - 60 * MIN);
  a.record(dns("api.example.com", ["192.0.2.1"], T, 443));
  const b = new EgressState();
  b.watch(web, T - 30 * MIN);
  b.record(dns("api.example.com", ["192.0.2.9"], T + MIN));
  b.record({
    workload: web,
    target: {
      kind: "kubernetes",
      name: "redis",
      namespace: "dev",
      workloadKind: "StatefulSet",
      service: "redis",
    },
    port: 6379,
    timeMs: T,
  });
  const [sa] = a.takeDirty();
  const [sb] = b.takeDirty();
  const stored = {
    declared: [
      { target: { internet: { domains: ["x.example.com"] } }, since: "2026-11-01T00:00:00Z" },
    ],
  };
  const first = mergeStatus(stored, sa, T, EXACT);
  t.true(first.changed);
  const second = mergeStatus(JSON.parse(canonical(first.status)), sb, T + MIN, EXACT);
  t.true(second.changed);
  t.deepEqual(second.status.declared, stored.declared, "declared is not the aggregator's to touch");
  t.is(second.status.observingSince, "2026-11-25T08:00:00Z");
  // The engine reads the result as any ObservedEgress.
  const read = observedFromObject({
    apiVersion: "egress.otter.dev/v1alpha1",
    kind: "ObservedEgress",
    metadata: { name: "web", namespace: "dev" },
    spec: { workload: { name: "web", kind: "Deployment" } },
    status: second.status,
  });
  t.deepEqual(
    read.destinations.map((d) =>
      d.kind === "internet"
        ? [d.dnsName, d.ips.map((i) => i.text), d.ports, d.firstSeen, d.lastSeen]
        : [d.name, d.service, d.ports],
    ),
    [
      ["api.example.com", ["192.0.2.1", "192.0.2.9"], [443], T, T + MIN],
      ["redis", "redis", [6379]],
    ],
  );
  const again = mergeStatus(JSON.parse(canonical(second.status)), undefined, T + 2 * MIN);
  t.false(again.changed, "nothing new: no write");
  t.is(again.status.updatedAt, second.status.updatedAt);
});

test("a lastSeen that moved by less than the granularity is no change: a restarted collector does not rewrite what is stored", (t) => {
  const HOUR = 60 * MIN;
  const limits = { ...DEFAULT_LIMITS, granularityMs: HOUR };
  const before = new EgressState(limits);
  before.record(dns("api.example.com", ["192.0.2.1"], T, 443));
  const stored = JSON.parse(canonical(mergeStatus(undefined, before.takeDirty()[0], T).status));
  // The next replica knows nothing yet: its first sighting is new to it.
  const restarted = () => new EgressState(limits);
  const soon = restarted();
  soon.record(dns("api.example.com", ["192.0.2.1"], T + 20 * MIN, 443));
  const quiet = mergeStatus(stored, soon.takeDirty()[0], T + 20 * MIN, limits);
  t.false(quiet.changed, "seen again 20 minutes later, within the hour: no write");
  t.deepEqual(quiet.status, stored);
  const later = restarted();
  later.record(dns("api.example.com", ["192.0.2.1"], T + 2 * HOUR, 443));
  const moved = mergeStatus(stored, later.takeDirty()[0], T + 2 * HOUR, limits);
  t.true(moved.changed, "two hours later: lastSeen is written");
  t.is(
    (moved.status.destinations as Array<{ lastSeen: string }>)[0]?.lastSeen,
    "2026-11-25T11:00:00Z",
  );
  const more = restarted();
  more.record(dns("api.example.com", ["192.0.2.7"], T + 20 * MIN, 443));
  const ip = mergeStatus(stored, more.takeDirty()[0], T + 20 * MIN, limits);
  t.true(ip.changed, "a new IP is written at once");
});

test("answers in another order are nothing new: CoreDNS's loadbalance shuffles A records", (t) => {
  const limits = { ...DEFAULT_LIMITS, granularityMs: 60 * MIN };
  const first = new EgressState(limits);
  first.record(dns("s3.example.com", ["192.0.2.1", "192.0.2.2", "192.0.2.3"], T, 443));
  const stored = JSON.parse(canonical(mergeStatus(undefined, first.takeDirty()[0], T).status));
  const restarted = new EgressState(limits);
  restarted.record(dns("s3.example.com", ["192.0.2.3", "192.0.2.1", "192.0.2.2"], T + MIN, 443));
  const merged = mergeStatus(stored, restarted.takeDirty()[0], T + MIN, limits);
  t.false(merged.changed, "the same addresses, shuffled: no write");
  t.deepEqual(merged.status, stored);
});

test("property: merged in any order, two writers' observations all survive with the earliest firstSeen and latest lastSeen", (t) => {
  const obs = fc.record({
    name: fc.constantFrom("a.example.com", "b.example.com", "c.example.com"),
    ip: fc.constantFrom("192.0.2.1", "192.0.2.2", "2001:db8::1"),
    port: fc.option(fc.constantFrom(80, 443), { nil: undefined }),
    at: fc.integer({ min: 0, max: 1000 }).map((m) => T + m * 1000),
  });
  fc.assert(
    fc.property(fc.array(obs, { maxLength: 12 }), fc.array(obs, { maxLength: 12 }), (xs, ys) => {
      const states = [xs, ys].map((list) => {
        const s = new EgressState();
        for (const o of list) s.record(dns(o.name, [o.ip], o.at, o.port));
        return s.takeDirty()[0];
      });
      const merge = (a: (typeof states)[0], b: (typeof states)[0]) =>
        mergeStatus(mergeStatus(undefined, a, T, EXACT).status, b, T, EXACT).status;
      const ab = merge(states[0], states[1]);
      const ba = merge(states[1], states[0]);
      type D = {
        internet: { dnsName: string; ips: string[]; ports?: number[] };
        firstSeen: string;
        lastSeen: string;
      };
      const norm = (s: Record<string, unknown>) =>
        (s.destinations as D[]).map((d) => ({
          ...d,
          internet: { ...d.internet, ips: [...d.internet.ips].sort() },
        }));
      t.deepEqual(norm(ab), norm(ba));
      for (const o of [...xs, ...ys]) {
        const d = norm(ab).find((x) => x.internet.dnsName === o.name);
        const seen = [...xs, ...ys].filter((x) => x.name === o.name).map((x) => x.at);
        t.truthy(d?.internet.ips.includes(o.ip));
        t.is(Date.parse(String(d?.firstSeen)), Math.min(...seen));
        t.is(Date.parse(String(d?.lastSeen)), Math.max(...seen));
        if (o.port !== undefined) t.true(d?.internet.ports?.includes(o.port));
      }
    }),
    { numRuns: 200 },
  );
});

function context(): AttributionContext {
  const lookup = owners({ "ReplicaSet/web-7d9f8": "Deployment/web" });
  const pods = new PodIpIndex();
  pods.set(pod({ name: "web-7d9f8-a", owner: "ReplicaSet/web-7d9f8", ip: "10.0.0.5" }, lookup));
  pods.set(
    pod({ name: "redis-0", owner: "StatefulSet/redis", ip: "10.0.0.6", labels: { app: "redis" } }),
  );
  pods.set(pod({ name: "pg-0", owner: "StatefulSet/pg", ip: "10.0.0.8", namespace: "data" }));
  const services = new ServiceIndex();
  services.setService({
    namespace: "dev",
    name: "redis",
    selector: { app: "redis" },
    clusterIps: ["10.96.0.10"],
  });
  services.setService({ namespace: "data", name: "postgres", selector: {}, clusterIps: [] });
  services.setSlice("data/postgres-abc", {
    namespace: "data",
    service: "postgres",
    pods: [{ namespace: "data", name: "pg-0" }],
  });
  return { pods, services, clusterDomains: ["cluster.local"] };
}

function snifferBody(field: string, destinations: Array<Record<string, unknown>>): unknown {
  return {
    query: `mutation r($results: X!) { ${field}(results: $results) }`,
    variables: { results: { results: [{ srcIp: "10.0.0.5", destinations }] } },
  };
}

test("socket-scan reports never add a port to an internet destination: their port is the client's", (t) => {
  const ctx = context();
  const at = new Date(T).toISOString();
  const scan = (destinations: Array<Record<string, unknown>>) =>
    snifferOutcomes(
      ctx,
      parseSnifferRequest(snifferBody("reportSocketScanResults", destinations)) as SnifferRequest,
      T,
    );
  // A bare internet address with a port: nothing to add.
  t.deepEqual(scan([{ destination: "104.18.7.192", destinationPort: 51234, lastSeen: at }]), []);
  // A name: observed, without the port.
  const named = scan([
    {
      destination: "api.openai.com",
      destinationIP: "104.18.7.192",
      destinationPort: 51234,
      lastSeen: at,
    },
  ]);
  t.is(named.length, 1);
  t.like(named[0], {
    kind: "observation",
    observation: { target: { kind: "internet", dnsName: "api.openai.com" } },
  });
  t.false("port" in ((named[0] as { observation: object }).observation ?? {}));
  // A TCP capture's port is the destination's: kept.
  const tcp = snifferOutcomes(
    ctx,
    parseSnifferRequest(
      snifferBody("reportTCPCaptureResults", [
        { destination: "104.18.7.192", destinationPort: 443, lastSeen: at },
      ]),
    ) as SnifferRequest,
    T,
  );
  t.like(tcp[0], { kind: "connection", port: 443 });
});

test("a sniffer report's time in the future is the time it was received", (t) => {
  const ctx = context();
  const future = new Date(T + 86_400_000 * 365).toISOString();
  const [o] = snifferOutcomes(
    ctx,
    parseSnifferRequest(
      snifferBody("reportCaptureResults", [
        { destination: "api.openai.com", destinationIP: "104.18.7.192", lastSeen: future },
      ]),
    ) as SnifferRequest,
    T,
  );
  t.like(o, { kind: "observation", observation: { timeMs: T } });
});

/** What the collector makes of one dnstap answer from `client` (10.0.0.5, web's pod). */
async function observeAnswer(
  ctx: AttributionContext,
  question: string,
  answers: Answer[],
  client = "10.0.0.5",
) {
  const frame = await dnstapFrame({
    client,
    timeMs: T,
    response: dnsResponse({ question, answers }),
  });
  return observeDnstap(ctx, decodeDnstap(frame) ?? { type: 0 }, T);
}

test("a cluster-domain question answered with a CNAME out of the cluster is the name it points to (autopath, ExternalName)", async (t) => {
  const ctx = context();
  const observe = (question: string, target: string) =>
    observeAnswer(ctx, question, [
      { name: question, type: "CNAME", target },
      { name: target, type: "A", ip: "104.18.7.192" },
    ]);
  const internet = {
    kind: "observation",
    observation: { target: { kind: "internet", dnsName: "api.openai.com", ips: ["104.18.7.192"] } },
  };
  // autopath: the search-expanded question, answered with the real name.
  t.like(await observe("api.openai.com.dev.svc.cluster.local", "api.openai.com"), internet);
  // An ExternalName Service: its name, answered with the external name.
  t.like(await observe("openai.dev.svc.cluster.local", "api.openai.com"), internet);
  // A CNAME that stays in the cluster domain does not leave it.
  t.like(await observe("api.example.com", "api.example.com.cdn.example.net"), {
    observation: { target: { dnsName: "api.example.com" } },
  });
});

test("an IPv4 client sent as an IPv4-mapped IPv6 address (older CoreDNS on a dual-stack listener) is its pod", async (t) => {
  const ctx = context();
  const answer = [{ name: "api.example.com", type: "A" as const, ip: "192.0.2.44" }];
  // ::ffff:10.0.0.5: 16 bytes, family INET6
  t.like(await observeAnswer(ctx, "api.example.com", answer, "::ffff:a00:5"), {
    kind: "observation",
    observation: { workload: { namespace: "dev", name: "web", kind: "Deployment" } },
  });
});

test("a dnstap answer becomes an observation of the asking workload", async (t) => {
  const ctx = context();
  const answer = (question: string, client = "10.0.0.5", rcode = 0) =>
    dnstapFrame({
      client,
      timeMs: T,
      response: dnsResponse({
        question,
        rcode,
        answers: rcode === 0 ? [{ name: question, type: "A", ip: "192.0.2.44" }] : [],
      }),
    }).then((f) => observeDnstap(ctx, decodeDnstap(f) ?? { type: 0 }, T));

  t.deepEqual(await answer("API.example.com"), {
    kind: "observation",
    observation: {
      workload: { namespace: "dev", name: "web", kind: "Deployment" },
      target: { kind: "internet", dnsName: "api.example.com", ips: ["192.0.2.44"] },
      timeMs: T,
    },
  });
  t.deepEqual(await answer("api.example.com.dev.svc.cluster.local", "10.0.0.5", 3), {
    kind: "ignored",
    why: "no addresses",
  });
  t.like(await answer("api.example.com", "10.9.9.9"), { kind: "unattributed" });
  t.like(await answer("redis.dev.svc.cluster.local"), {
    observation: {
      target: {
        kind: "kubernetes",
        name: "redis",
        namespace: "dev",
        workloadKind: "StatefulSet",
        service: "redis",
      },
    },
  });
  t.like(await answer("postgres.data.svc.cluster.local"), {
    observation: {
      target: {
        kind: "kubernetes",
        name: "pg",
        namespace: "data",
        workloadKind: "StatefulSet",
        service: "postgres",
      },
    },
  });
  t.like(await answer("10-0-0-6.dev.pod.cluster.local"), {
    observation: { target: { kind: "kubernetes", name: "redis", namespace: "dev" } },
  });
  // A name in the cluster domain that no Service or pod has: the client is known, the name is
  // not; counted apart from unattributed clients.
  t.like(await answer("nothing.dev.svc.cluster.local"), { kind: "unknown-cluster-name" });
  const query = decodeDnstap(await dnstapFrame({ client: "10.0.0.5", type: 5 }));
  t.deepEqual(observeDnstap(ctx, query ?? { type: 0 }, T), {
    kind: "ignored",
    why: "not a response",
  });
});

test("what is written and quiet is forgotten, and a new sighting is recorded (and written) again", (t) => {
  const s = new EgressState();
  s.record(dns("old.example.com", ["192.0.2.1"], T - 2 * 3_600_000));
  s.record(dns("recent.example.com", ["192.0.2.2"], T));
  s.takeDirty();
  s.forget("dev/web", T - 3_600_000);
  t.deepEqual(
    snapshot(s.get("dev/web") ?? s.workload(web)).destinations.map((d) => d.key),
    ["recent.example.com"],
    "the quiet destination is forgotten, the recent one kept",
  );
  s.forget("dev/web", T + 3_600_000);
  t.is(s.get("dev/web"), undefined, "a workload with nothing left is forgotten");
  t.true(s.record(dns("old.example.com", ["192.0.2.1"], T + 60_000)), "seen again: material");
  const [again] = s.takeDirty();
  t.deepEqual(
    again?.destinations.map((d) => d.key),
    ["old.example.com"],
  );
  // Something not yet written is never forgotten.
  s.record(dns("unwritten.example.com", [], T - 5 * 3_600_000));
  s.forget("dev/web", T + 10 * 3_600_000);
  t.truthy(s.get("dev/web"));
});

test("Services, EndpointSlices and ClientIntents from the API server, read for the indexes", (t) => {
  t.deepEqual(
    serviceRecord({
      metadata: { name: "redis", namespace: "dev" },
      spec: {
        selector: { app: "redis", n: 1 },
        clusterIP: "10.96.0.10",
        clusterIPs: ["10.96.0.10", "fd00::10"],
      },
    }),
    {
      namespace: "dev",
      name: "redis",
      selector: { app: "redis" },
      clusterIps: ["10.96.0.10", "fd00::10"],
    },
  );
  t.deepEqual(
    serviceRecord({ metadata: { name: "db", namespace: "dev" }, spec: { clusterIP: "None" } })
      .clusterIps,
    [],
    "a headless Service has no cluster IP",
  );
  t.deepEqual(
    endpointSliceRecord({
      metadata: {
        name: "pg-x1",
        namespace: "data",
        labels: { "kubernetes.io/service-name": "pg" },
      },
      endpoints: [
        { targetRef: { kind: "Pod", name: "pg-0" } },
        { targetRef: { kind: "Pod", name: "pg-1" }, conditions: { ready: false } },
        { targetRef: { kind: "Node", name: "n1" } },
        {},
      ],
    }),
    {
      namespace: "data",
      service: "pg",
      pods: [
        { namespace: "data", name: "pg-0", ready: true },
        { namespace: "data", name: "pg-1", ready: false },
      ],
    },
  );
  t.is(endpointSliceRecord({ metadata: { name: "orphan", namespace: "data" } }), undefined);

  const intents = (generation: number) =>
    declaringIntents({
      apiVersion: "k8s.otterize.com/v2beta1",
      kind: "ClientIntents",
      metadata: {
        name: "web",
        namespace: "dev",
        generation,
        creationTimestamp: "2026-11-01T00:00:00Z",
      },
      spec: {
        workload: { name: "web", kind: "Deployment" },
        targets: [{ internet: { domains: ["a.example.com"] } }],
      },
    });
  t.deepEqual(intents(1).workload, { namespace: "dev", name: "web", kind: "Deployment" });
  t.is(
    intents(1).entry.exactSince,
    Date.parse("2026-11-01T00:00:00Z"),
    "never changed: declared since creation",
  );
  t.is(intents(2).entry.exactSince, undefined, "changed since: unknown");
  t.throws(() => declaringIntents({ kind: "ClientIntents", metadata: { name: "x" }, spec: {} }), {
    instanceOf: InputError,
  });
});

test("a Service asked for before its pods were known is one destination, which takes the workload's kind once known", (t) => {
  const s = new EgressState();
  const asItself = { kind: "kubernetes" as const, name: "nats", namespace: "dev", service: "nats" };
  const behind = { ...asItself, workloadKind: "StatefulSet" };
  s.record({ workload: web, target: asItself, timeMs: T });
  t.true(s.record({ workload: web, target: behind, timeMs: T + 1000 }), "the kind is news");
  s.takeDirty();
  // Seen again, the same way, within the granularity: nothing to write.
  t.false(s.record({ workload: web, target: { ...behind }, timeMs: T + 2000 }));
  t.false(s.record({ workload: web, target: asItself, timeMs: T + 3000 }), "the kind stays");
  const snap = snapshot(s.get("dev/web") ?? s.workload(web));
  t.deepEqual(
    snap.destinations.map((d) => d.target),
    [behind],
  );
  // Written before the pods were known, merged with what is known now (and the other way).
  const stored = {
    destinations: [
      {
        kubernetes: { name: "nats", namespace: "dev", service: "nats" },
        firstSeen: "2026-11-20T00:00:00Z",
        lastSeen: "2026-11-20T00:00:00Z",
      },
    ],
  };
  const merged = mergeStatus(stored, snap, T).status.destinations as Array<Record<string, unknown>>;
  t.is(merged.length, 1);
  t.like(merged[0], {
    kubernetes: { name: "nats", kind: "StatefulSet", service: "nats" },
    firstSeen: "2026-11-20T00:00:00Z",
  });
  const s2 = new EgressState();
  s2.record({ workload: web, target: asItself, timeMs: T });
  const back = mergeStatus(
    {
      destinations: [
        {
          kubernetes: { name: "nats", namespace: "dev", kind: "StatefulSet", service: "nats" },
          firstSeen: "2026-11-20T00:00:00Z",
          lastSeen: "2026-11-20T00:00:00Z",
        },
      ],
    },
    snapshot(s2.get("dev/web") ?? s2.workload(web)),
    T,
  ).status.destinations as Array<Record<string, unknown>>;
  t.is(back.length, 1);
  t.like(back[0], { kubernetes: { kind: "StatefulSet" } });
});

test("more than one cluster zone: a Service's name in any of them is the workload behind it", async (t) => {
  const ctx = { ...context(), clusterDomains: ["cluster.local", "corp.internal"] };
  const answer = (question: string) =>
    observeAnswer(ctx, question, [{ name: question, type: "A", ip: "10.96.0.10" }]);
  for (const zone of ["cluster.local", "corp.internal"]) {
    t.like(
      await answer(`redis.dev.svc.${zone}`),
      {
        observation: {
          target: {
            kind: "kubernetes",
            name: "redis",
            workloadKind: "StatefulSet",
            service: "redis",
          },
        },
      },
      zone,
    );
  }
  // Outside both zones, a name is the internet's.
  t.like(await answer("redis.dev.svc.example.com"), {
    observation: { target: { kind: "internet", dnsName: "redis.dev.svc.example.com" } },
  });
});

test("a destination over the CRD's limits is left out of the write and counted, never sent", (t) => {
  const state = new EgressState();
  const w = { namespace: "dev", name: "web", kind: "Deployment" };
  const long = `${"a".repeat(250)}.example.com`;
  state.record({ workload: w, target: { kind: "internet", dnsName: long, ips: [] }, timeMs: T });
  state.record({
    workload: w,
    target: { kind: "internet", dnsName: "ok.example.com", ips: ["192.0.2.1"] },
    timeMs: T,
  });
  const merged = mergeStatus({}, state.takeDirty()[0], T);
  t.is(merged.invalid, 1);
  t.deepEqual(
    (merged.status.destinations as Array<{ internet: { dnsName: string } }>).map(
      (d) => d.internet.dnsName,
    ),
    ["ok.example.com"],
  );
});

test("sniffer reports over the CRD's limits are refused whole, with the reason", (t) => {
  const at = new Date(T).toISOString();
  const refused = (destinations: Array<Record<string, unknown>>) =>
    parseSnifferRequest(snifferBody("reportCaptureResults", destinations));
  t.regex(
    String(refused([{ destination: `${"x".repeat(250)}.example.com`, lastSeen: at }])),
    /destination: longer than 253 characters/,
  );
  t.regex(
    String(
      refused([{ destination: "a.example.com", destinationIP: "1".repeat(60), lastSeen: at }]),
    ),
    /destinationIP: longer than an IP address/,
  );
  const many = Array.from({ length: 2001 }, (_, i) => ({
    destination: `n${i}.example.com`,
    lastSeen: at,
  }));
  t.regex(String(refused(many)), /more than 2000/);
  const sources = Array.from({ length: 1001 }, () => ({ srcIp: "10.0.0.5", destinations: [] }));
  t.regex(
    String(
      parseSnifferRequest({
        query: "mutation r($results: X!) { reportCaptureResults(results: $results) }",
        variables: { results: { results: sources } },
      }),
    ),
    /more than 1000 sources/,
  );
  t.is(typeof refused(many.slice(0, 2000)), "object", "at the cap is fine");
});

test("a report cannot push a workload's real destinations out: at the cap, its new names are dropped", (t) => {
  const state = new EgressState({ destinations: 3, ips: 4, ports: 4, granularityMs: MIN });
  const w = { namespace: "dev", name: "web", kind: "Deployment" };
  const seen = (name: string, reported?: true) =>
    state.record({
      workload: w,
      target: { kind: "internet", dnsName: name, ips: [] },
      timeMs: T,
      ...(reported ? { reported } : {}),
    });
  for (const n of ["a.example.com", "b.example.com", "c.example.com"]) seen(n);
  t.false(seen("forged.example.com", true));
  t.is(state.noRoom, 1);
  const names = () => [...(state.get("dev/web")?.destinations.keys() ?? [])].sort();
  t.deepEqual(names(), ["a.example.com", "b.example.com", "c.example.com"]);
  // What the DNS server saw still makes room, as before.
  t.true(seen("d.example.com"));
  t.is(names().length, 3);
  t.true(names().includes("d.example.com"));
});

test("a canary Service credits every workload behind it, in one order whatever the informers' order", async (t) => {
  const build = (order: string[]) => {
    const ctx = context();
    const lookup = owners({
      "ReplicaSet/api-stable-5d8f7": "Deployment/api-stable",
      "ReplicaSet/api-canary-6c9e8": "Deployment/api-canary",
    });
    for (const name of order) {
      const rs = name.startsWith("stable") ? "api-stable-5d8f7" : "api-canary-6c9e8";
      ctx.pods.set(
        pod(
          {
            name,
            owner: `ReplicaSet/${rs}`,
            ip: `10.0.1.${order.indexOf(name) + 1}`,
            labels: { app: "api" },
          },
          lookup,
        ),
      );
    }
    ctx.services.setService({
      namespace: "dev",
      name: "api",
      selector: { app: "api" },
      clusterIps: ["10.96.0.20"],
    });
    return ctx;
  };
  const targets = async (order: string[]) => {
    const o = await observeAnswer(build(order), "api.dev.svc.cluster.local", [
      { name: "api.dev.svc.cluster.local", type: "A", ip: "10.96.0.20" },
    ]);
    if (o.kind !== "observation") return [];
    return [o.observation, ...(o.more ?? [])].map((x) => x.target);
  };
  const one = await targets(["stable-a", "canary-a", "stable-b"]);
  t.deepEqual(one, [
    {
      kind: "kubernetes",
      name: "api-canary",
      namespace: "dev",
      workloadKind: "Deployment",
      service: "api",
    },
    {
      kind: "kubernetes",
      name: "api-stable",
      namespace: "dev",
      workloadKind: "Deployment",
      service: "api",
    },
  ]);
  t.deepEqual(
    await targets(["canary-a", "stable-b", "stable-a"]),
    one,
    "the same on every replica",
  );
  // Both are destinations of the asking workload, and the Service named before its pods were
  // known gives way to them.
  const s = new EgressState();
  s.record({
    workload: web,
    target: { kind: "kubernetes", name: "api", namespace: "dev", service: "api" },
    timeMs: T,
  });
  for (const target of one) s.record({ workload: web, target, timeMs: T + 1000 });
  t.deepEqual(
    snapshot(s.get("dev/web") ?? s.workload(web)).destinations.map((d) => d.target),
    one,
  );
});

test("a pod being deleted ends when its containers have terminated, not when its grace period would", (t) => {
  const o = podObject({ name: "old", ip: "10.0.3.3", deleted: "2026-11-25T09:00:30Z" });
  // Deleted at 09:00:00 with 30 s of grace; its container stopped at 09:00:02, phase still Running.
  (o.status as Record<string, unknown>).containerStatuses = [
    { name: "app", state: { terminated: { finishedAt: "2026-11-25T09:00:02Z", exitCode: 0 } } },
  ];
  const old = podRecord(o, owners());
  t.is(old?.endMs, Date.parse("2026-11-25T09:00:02Z"));
  const running = podObject({ name: "still", ip: "10.0.3.4", deleted: "2026-11-25T09:00:30Z" });
  (running.status as Record<string, unknown>).containerStatuses = [
    { name: "app", state: { running: { startedAt: "2026-11-25T08:00:00Z" } } },
    { name: "side", state: { terminated: { finishedAt: "2026-11-25T09:00:01Z" } } },
  ];
  t.is(
    podRecord(running, owners())?.endMs,
    Date.parse("2026-11-25T09:00:30Z"),
    "a container still runs",
  );
  // The IP's next pod, started at 09:00:05, gets answers from then on.
  const index = new PodIpIndex();
  index.set(old!);
  index.set(pod({ name: "new", ip: "10.0.3.3", start: "2026-11-25T09:00:05Z", uid: "new" }));
  t.is(index.at("10.0.3.3", Date.parse("2026-11-25T09:00:10Z"))?.name, "new");
  t.is(index.at("10.0.3.3", Date.parse("2026-11-25T09:00:01Z"))?.name, "old");
});
