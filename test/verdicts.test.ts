import test from "ava";
import { diffEgress } from "../src/diff.js";
import { targetLabel } from "../src/render/target-label.js";
import type { Finding, Listening } from "../src/verdicts.js";
import {
  ago,
  clientIntents,
  DAY,
  HOUR,
  internet,
  kube,
  NOW,
  observedEgress,
  parseIntents,
  parseObserved,
  WINDOW,
  type ObservedSpec,
} from "./helpers/factories.js";

type Obj = Record<string, unknown>;

/** Every target is declared long ago unless `declared` says otherwise. */
function judge(
  targets: Obj[],
  observed: ObservedSpec | null,
  opts: { listening?: Listening; declaredSince?: string; namespace?: string } = {},
): Finding[] {
  const intents = parseIntents([clientIntents({ targets, namespace: opts.namespace ?? "dev" })]);
  const declared = (observed?.declared ??
    targets
      .flatMap((t) => {
        const internetBody = t.internet as { domains?: string[]; ips?: string[] } | undefined;
        if (internetBody) {
          return [
            ...(internetBody.domains ?? []).map((d) => ({ internet: { domains: [d] } })),
            ...(internetBody.ips ?? []).map((ip) => ({ internet: { ips: [ip] } })),
          ];
        }
        return [t];
      })
      .map((t) => [t, opts.declaredSince ?? ago(60 * DAY)])) as Array<[Obj, string]>;
  const obs = observed ? parseObserved([observedEgress({ ...observed, declared })]) : [];
  const diff = diffEgress({
    intents,
    workloadScope: "declared",
    observed: obs,
    namespaces: { all: true },
    includeUndeclared: false,
    now: NOW,
    windowMs: WINDOW,
    listening: opts.listening ?? { state: "snapshot" },
  });
  return diff.workloads.flatMap((w) => w.findings);
}

function verdicts(findings: Finding[]): string[] {
  return findings.map((f) => `${f.verdict} ${targetLabel(f.target)}`).sort();
}

const openai = internet("api.openai.com", ["104.18.7.192", "104.18.6.192"], [443]);

test("a recent destination covered by a declared domain is matched", (t) => {
  const f = judge([{ internet: { domains: ["api.openai.com"], ports: [443] } }], {
    destinations: [openai],
  });
  t.deepEqual(verdicts(f), ["matched api.openai.com"]);
  t.is(f[0]?.lastSeen, NOW - HOUR);
  t.is(f[0]?.source?.file, "intents.yaml");
});

test("a recent destination covered by nothing is missing, in pasteable v2beta1 form", (t) => {
  const f = judge([], { destinations: [openai] });
  t.deepEqual(
    f.map((x) => x.target),
    [{ internet: { domains: ["api.openai.com"], ports: [443] } }],
  );
  t.is(f[0]?.verdict, "missing");
});

test("destinations older than the window are neither missing nor matching", (t) => {
  const old = internet("api.openai.com", ["104.18.7.192"], [443], ago(WINDOW + HOUR));
  t.deepEqual(judge([], { destinations: [old] }), []);
  const f = judge([{ internet: { domains: ["api.openai.com"] } }], { destinations: [old] });
  t.deepEqual(verdicts(f), ["unnecessary api.openai.com"]);
  t.regex(f[0]?.reason ?? "", /last seen 2026-11-18T09:00:00Z/);
});

test("a destination seen exactly at the window's edge is still recent", (t) => {
  const edge = internet("api.openai.com", [], [], ago(WINDOW));
  t.deepEqual(verdicts(judge([], { destinations: [edge] })), ["missing api.openai.com"]);
});

test("unused, long-declared targets of a long-observed workload are unnecessary", (t) => {
  const f = judge([{ internet: { domains: ["api.jokes.example.com"] } }], { destinations: [] });
  t.deepEqual(verdicts(f), ["unnecessary api.jokes.example.com"]);
  t.regex(f[0]?.reason ?? "", /never seen/);
});

test("a target declared less than the window ago is unverified, not unnecessary", (t) => {
  const f = judge(
    [{ internet: { domains: ["new.example.com"] } }],
    { destinations: [] },
    { declaredSince: ago(2 * DAY) },
  );
  t.deepEqual(verdicts(f), ["unverified new.example.com"]);
  t.regex(f[0]?.reason ?? "", /declared only since/);
});

test("a workload observed for less than the window gets unverified, not unnecessary", (t) => {
  const f = judge([{ internet: { domains: ["x.example.com"] } }], { observingSince: ago(3 * DAY) });
  t.deepEqual(verdicts(f), ["unverified x.example.com"]);
  t.regex(f[0]?.reason ?? "", /observed only since/);
});

test("no record of when a target was declared makes it unverified", (t) => {
  const f = judge([{ internet: { domains: ["x.example.com"] } }], { declared: [] });
  t.deepEqual(verdicts(f), ["unverified x.example.com"]);
  t.regex(f[0]?.reason ?? "", /no record of when it was declared/);
});

test("a never-observed workload's declared targets are unverified", (t) => {
  const f = judge([{ internet: { domains: ["x.example.com"] } }], null);
  t.deepEqual(verdicts(f), ["unverified x.example.com"]);
});

test("when the collector stopped, silence proves nothing: unverified with the time", (t) => {
  const f = judge(
    [{ internet: { domains: ["x.example.com"] } }],
    { destinations: [] },
    {
      listening: { state: "stopped", since: NOW - 2 * DAY },
    },
  );
  t.deepEqual(verdicts(f), ["unverified x.example.com"]);
  t.regex(f[0]?.reason ?? "", /no observations since 2026-11-23T10:00:00Z/);
});

test("a workload whose pods cannot be observed keeps its targets unverified, saying why", (t) => {
  const f = judge([{ internet: { domains: ["x.example.com"] } }], {
    destinations: [],
    coverage: { state: "none", reason: "pods use dnsPolicy Default" },
  });
  t.deepEqual(verdicts(f), ["unverified x.example.com"]);
  t.regex(f[0]?.reason ?? "", /pods use dnsPolicy Default: egress cannot be observed/);
  const full = judge([{ internet: { domains: ["x.example.com"] } }], {
    destinations: [],
    coverage: { state: "full" },
  });
  t.deepEqual(verdicts(full), ["unnecessary x.example.com"]);
});

test("after a gap, a target is unverified until the window has passed again, naming the gap", (t) => {
  const gap = {
    from: ago(3 * DAY),
    to: ago(2 * DAY),
    why: "no dnstap session from kube-system/coredns-7c9b-x2k4f",
  };
  const f = judge([{ internet: { domains: ["x.example.com"] } }], {
    destinations: [],
    observingSince: gap.to,
    gaps: [gap],
  });
  t.deepEqual(verdicts(f), ["unverified x.example.com"]);
  t.is(
    f[0]?.reason.split(";")[0],
    `not used, but observable only since ${gap.to}, after a gap: ` +
      `no dnstap session from kube-system/coredns-7c9b-x2k4f from ${gap.from} to ${gap.to}`,
  );
  // An old gap, a window ago: silence since then is evidence again.
  const old = { ...gap, from: ago(20 * DAY), to: ago(10 * DAY) };
  const later = judge([{ internet: { domains: ["x.example.com"] } }], {
    destinations: [],
    observingSince: old.to,
    gaps: [old],
  });
  t.deepEqual(verdicts(later), ["unnecessary x.example.com"]);
});

test("cloud and database targets are n/a, never drift", (t) => {
  const f = judge(
    [
      { aws: { arn: "arn:aws:s3:::bucket" } },
      { gcp: { resource: "projects/p/buckets/b" } },
      { azure: { scope: "/subscriptions/x", roles: ["Reader"] } },
      { sql: { name: "db" } },
    ],
    { destinations: [] },
  );
  t.deepEqual(
    f.map((x) => x.verdict),
    ["n/a", "n/a", "n/a", "n/a"],
  );
});

test("a wildcard covers names below at any depth, not the apex", (t) => {
  const star = { internet: { domains: ["*.amazonaws.com"] } };
  t.deepEqual(verdicts(judge([star], { destinations: [internet("s3.amazonaws.com")] })), [
    "matched *.amazonaws.com",
  ]);
  t.deepEqual(
    verdicts(judge([star], { destinations: [internet("a.b.eu-west-2.amazonaws.com")] })),
    ["matched *.amazonaws.com"],
  );
  t.deepEqual(verdicts(judge([star], { destinations: [internet("amazonaws.com")] })), [
    "missing amazonaws.com",
    "unnecessary *.amazonaws.com",
  ]);
});

test("a wildcard does not cover a look-alike suffix", (t) => {
  const star = { internet: { domains: ["*.amazonaws.com"] } };
  for (const name of ["s3.amazonaws.com.attacker.net", "evilamazonaws.com", "amazonaws.com.evil"]) {
    t.true(
      verdicts(judge([star], { destinations: [internet(name)] })).includes(`missing ${name}`),
      name,
    );
  }
});

test("domains compare case-insensitively and ignore a trailing dot", (t) => {
  const f = judge([{ internet: { domains: ["API.OpenAI.com."] } }], {
    destinations: [internet("api.openai.COM.")],
  });
  t.deepEqual(verdicts(f), ["matched api.openai.com"]);
});

test("a CIDR covers a named destination only when it contains every IP of it", (t) => {
  const cidr = { internet: { ips: ["104.18.6.0/24"] } };
  t.deepEqual(verdicts(judge([cidr], { destinations: [openai] })), [
    "missing api.openai.com",
    "unnecessary 104.18.6.0/24",
  ]);
  // Its first IP contained, its second not: still not covered.
  const first = { internet: { ips: ["104.18.7.0/24"] } };
  t.deepEqual(verdicts(judge([first], { destinations: [openai] })), [
    "missing api.openai.com",
    "unnecessary 104.18.7.0/24",
  ]);
  const wide = { internet: { ips: ["104.18.0.0/16"] } };
  t.deepEqual(verdicts(judge([wide], { destinations: [openai] })), ["matched 104.18.0.0/16"]);
  // Two declared IPs that together hold every IP of it cover it too.
  const both = { internet: { ips: ["104.18.7.192", "104.18.6.192"] } };
  t.deepEqual(verdicts(judge([both], { destinations: [openai] })), [
    "matched 104.18.6.192",
    "matched 104.18.7.192",
  ]);
});

test("a named destination with no IPs is never covered by declared IPs", (t) => {
  const f = judge([{ internet: { ips: ["0.0.0.0/0"] } }], {
    destinations: [internet("api.openai.com")],
  });
  t.true(verdicts(f).includes("missing api.openai.com"));
});

test("IPv6 addresses and CIDRs are matched", (t) => {
  const v6 = internet(undefined, ["2606:4700:0:0::6812:7c0"], [443]);
  const f = judge([{ internet: { ips: ["2606:4700::/32"] } }], { destinations: [v6] });
  t.deepEqual(verdicts(f), ["matched 2606:4700::/32"]);
  const g = judge([{ internet: { ips: ["2606:4701::/32"] } }], { destinations: [v6] });
  t.deepEqual(verdicts(g), ["missing 2606:4700::6812:7c0", "unnecessary 2606:4701::/32"]);
});

test("an IP-only destination is covered by a declared domain that resolved to it", (t) => {
  const named = internet("dynamodb.eu-west-2.amazonaws.com", ["52.94.56.47"], [443]);
  const bare = internet(undefined, ["52.94.56.47"], [443]);
  const other = internet(undefined, ["52.94.56.48"], [443]);
  const f = judge([{ internet: { domains: ["dynamodb.eu-west-2.amazonaws.com"] } }], {
    destinations: [named, bare, other],
  });
  t.deepEqual(verdicts(f), ["matched dynamodb.eu-west-2.amazonaws.com", "missing 52.94.56.48"]);
});

test("an IP-only destination's address is matched whole to the names it answered for", (t) => {
  // A workload's few destinations are scanned for the address; many are indexed: both ways.
  for (const more of [0, 100]) {
    const named = internet("api.example.com", ["152.94.56.47", "52.94.56.40"], [443]);
    // A prefix of one of the name's addresses and the tail of the other: not one of them.
    const bare = internet(undefined, ["52.94.56.4"], [443]);
    const answered = internet(undefined, ["52.94.56.40"], [443]);
    const others = Array.from({ length: more }, (_, i) =>
      internet(`n${i}.example.net`, [`10.0.${i >> 8}.${i & 255}`], [443]),
    );
    const f = judge([{ internet: { domains: ["api.example.com"] } }], {
      destinations: [named, bare, answered, ...others],
    });
    t.deepEqual(
      verdicts(f).filter((v) => !v.endsWith(".example.net")),
      ["matched api.example.com", "missing 52.94.56.4"],
      `${more} more destinations`,
    );
    t.is(f.length, 2 + more);
  }
});

test("an IP-only destination is covered by a declared CIDR", (t) => {
  const f = judge([{ internet: { ips: ["52.94.0.0/16"] } }], {
    destinations: [internet(undefined, ["52.94.56.47"])],
  });
  t.deepEqual(verdicts(f), ["matched 52.94.0.0/16"]);
});

test("a known port outside the declared ports is missing for that port", (t) => {
  const dest = internet("api.openai.com", [], [443, 8443]);
  const f = judge([{ internet: { domains: ["api.openai.com"], ports: [443] } }], {
    destinations: [dest],
  });
  t.deepEqual(verdicts(f), ["matched api.openai.com", "missing api.openai.com"]);
  const missing = f.find((x) => x.verdict === "missing");
  t.deepEqual(missing?.target, { internet: { domains: ["api.openai.com"], ports: [8443] } });
  t.regex(missing?.reason ?? "", /port 8443 is outside the declared ports 443/);
});

test("ports of several covering targets add up, and empty ports mean any port", (t) => {
  const dest = internet("api.openai.com", ["104.18.7.192"], [443, 8443]);
  const twoTargets = judge(
    [
      { internet: { domains: ["api.openai.com"], ports: [443] } },
      { internet: { domains: ["*.openai.com"], ports: [8443] } },
    ],
    { destinations: [dest] },
  );
  t.false(twoTargets.some((x) => x.verdict === "missing"));
  const any = judge([{ internet: { domains: ["api.openai.com"] } }], { destinations: [dest] });
  t.false(any.some((x) => x.verdict === "missing"));
});

test("unknown observed ports are not judged", (t) => {
  const f = judge([{ internet: { domains: ["api.openai.com"], ports: [443] } }], {
    destinations: [internet("api.openai.com")],
  });
  t.deepEqual(verdicts(f), ["matched api.openai.com"]);
});

test("an in-cluster target without a namespace means the intents' own namespace", (t) => {
  const redis = kube("redis", "dev", { kind: "StatefulSet", service: "redis", ports: [6379] });
  t.deepEqual(verdicts(judge([{ kubernetes: { name: "redis" } }], { destinations: [redis] })), [
    "matched kubernetes redis.dev",
  ]);
  t.deepEqual(verdicts(judge([{ kubernetes: { name: "redis.dev" } }], { destinations: [redis] })), [
    "matched kubernetes redis.dev",
  ]);
});

test("a same-named service in another namespace is not covered", (t) => {
  const redis = kube("redis", "prod", { service: "redis" });
  const f = judge([{ service: { name: "redis" } }], { destinations: [redis] });
  t.deepEqual(verdicts(f), ["missing kubernetes redis.prod", "unnecessary service redis.dev"]);
  const g = judge([{ kubernetes: { name: "redis.prod" } }], { destinations: [redis] });
  t.deepEqual(verdicts(g), ["matched kubernetes redis.prod"]);
});

test("kinds must match when the target names one; kind Service matches the service", (t) => {
  const redis = kube("redis-0", "dev", { kind: "StatefulSet", service: "redis" });
  t.deepEqual(
    verdicts(
      judge([{ kubernetes: { name: "redis-0", kind: "StatefulSet" } }], { destinations: [redis] }),
    ),
    ["matched kubernetes redis-0.dev (StatefulSet)"],
  );
  t.deepEqual(
    verdicts(
      judge([{ kubernetes: { name: "redis-0", kind: "Deployment" } }], { destinations: [redis] }),
    ),
    [
      "missing kubernetes redis-0.dev (StatefulSet)",
      "unnecessary kubernetes redis-0.dev (Deployment)",
    ],
  );
  t.deepEqual(
    verdicts(
      judge([{ kubernetes: { name: "redis", kind: "Service" } }], { destinations: [redis] }),
    ),
    ["matched service redis.dev"],
  );
  // A Service-kind target names the service, not the workload.
  t.deepEqual(verdicts(judge([{ service: { name: "redis-0" } }], { destinations: [redis] })), [
    "missing kubernetes redis-0.dev (StatefulSet)",
    "unnecessary service redis-0.dev",
  ]);
});

test("kafka targets cover the kafka workload or service", (t) => {
  const kafka = kube("kafka", "streaming", { kind: "StatefulSet", service: "kafka-bootstrap" });
  t.deepEqual(
    verdicts(judge([{ kafka: { name: "kafka-bootstrap.streaming" } }], { destinations: [kafka] })),
    ["matched kafka kafka-bootstrap.streaming"],
  );
});

test("findings are per item: each domain and IP of one target gets its own verdict", (t) => {
  const f = judge(
    [{ internet: { domains: ["api.openai.com", "old.example.com"], ips: ["10.0.0.0/8"] } }],
    { destinations: [openai] },
  );
  t.deepEqual(verdicts(f), [
    "matched api.openai.com",
    "unnecessary 10.0.0.0/8",
    "unnecessary old.example.com",
  ]);
});

test("the same destination reported twice gives one missing finding", (t) => {
  const f = judge([], {
    destinations: [openai, internet("api.openai.com", ["104.18.7.192"], [443], ago(2 * HOUR))],
  });
  t.is(f.filter((x) => x.verdict === "missing").length, 1);
});
