import test from "ava";
import fc from "fast-check";
import { domainCovers, domainProblem, normalizeDomain, parseClusterZones } from "../src/domain.js";
import { formatDuration, formatTimestamp, parseDuration, parseTimestamp } from "../src/duration.js";
import { hostPort } from "../src/cli/host-port.js";
import { UsageError } from "../src/errors.js";
import { BoundedMap } from "../src/bounded-map.js";
import { canonical, sameContent } from "../src/canonical.js";
import {
  formatIp,
  formatNetwork,
  ipFromBytes,
  ipValue,
  networkContains,
  parseIp,
  parseNetwork,
  peerAddress,
} from "../src/ip.js";

test("IPv4 and IPv6 parse strictly", (t) => {
  t.deepEqual(parseIp("104.18.7.192"), { family: 4, text: "104.18.7.192" });
  t.is(parseIp("2606:4700::6812:7c0")?.family, 6);
  t.is(formatIp(parseIp("::ffff:1.2.3.4")!), "::ffff:102:304");
  for (const bad of [
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "01.1.1.1",
    " 1.1.1.1",
    "1::2::3",
    "12345::",
    "fe80::1%eth0",
    "",
    "::g",
  ]) {
    t.is(parseIp(bad), undefined, bad);
  }
});

test("CIDRs keep their network and contain what they should", (t) => {
  const net = parseNetwork("10.1.2.3/8")!;
  t.is(formatNetwork(net), "10.0.0.0/8");
  t.true(networkContains(net, parseIp("10.255.0.1")!));
  t.false(networkContains(net, parseIp("11.0.0.1")!));
  t.false(networkContains(net, parseIp("::a01:203")!), "families never mix");
  t.true(networkContains(parseNetwork("0.0.0.0/0")!, parseIp("8.8.8.8")!));
  t.true(networkContains(parseNetwork("2001:db8::/32")!, parseIp("2001:db8:ffff::1")!));
  t.is(parseNetwork("1.2.3.4/33"), undefined);
  t.is(parseNetwork("::/129"), undefined);
  t.is(parseNetwork("1.2.3.4/08"), undefined);
});

test("property: formatted addresses parse back to themselves", (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
      const ip = parseIp(text);
      if (!ip) return false;
      const again = parseIp(formatIp(ip));
      // The canonical text names the same address as the text it came from.
      const written = ipValue({ family: ip.family, text });
      return again !== undefined && ipValue(again) === written && again.family === ip.family;
    }),
  );
  t.pass();
});

test("property: a network contains an address exactly when their prefix bits agree", (t) => {
  fc.assert(
    fc.property(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 32 }), (a, b, prefix) => {
      const net = parseNetwork(`${a}/${prefix}`)!;
      const ip = parseIp(b)!;
      const shift = BigInt(32 - prefix);
      const same = ipValue(parseIp(a)!) >> shift === ipValue(ip) >> shift;
      return networkContains(net, ip) === same;
    }),
  );
  t.pass();
});

test("domains: wildcard coverage and validation", (t) => {
  t.true(domainCovers("*.example.com", "a.example.com"));
  t.true(domainCovers("*.example.com", "a.b.example.com"));
  t.false(domainCovers("*.example.com", "example.com"));
  t.false(domainCovers("*.example.com", "badexample.com"));
  t.false(domainCovers("*.example.com", "example.com.attacker.net"));
  t.false(domainCovers("example.com", "a.example.com"));
  t.is(normalizeDomain("Api.Example.COM."), "api.example.com");
  t.is(domainProblem("*.example.com"), undefined);
  t.is(domainProblem("münchen.de"), undefined);
  for (const bad of [
    "",
    "*",
    "*foo.com",
    "a..b",
    "-a.com",
    "a_b.com",
    "a b.com",
    "a.com:443",
    "a/b",
  ]) {
    t.not(domainProblem(bad), undefined, bad);
  }
});

test("property: a wildcard covers exactly the names strictly below its suffix", (t) => {
  const label = fc.stringMatching(/^[a-z0-9]{1,4}$/);
  const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join("."));
  fc.assert(
    fc.property(name, name, (suffix, observed) => {
      const below = observed.endsWith(`.${suffix}`);
      return domainCovers(`*.${suffix}`, observed) === below;
    }),
  );
  t.pass();
});

test("durations are Go durations plus days", (t) => {
  t.is(parseDuration("168h"), 168 * 3_600_000);
  t.is(parseDuration("1h30m"), 5_400_000);
  t.is(parseDuration("7d"), 7 * 86_400_000);
  t.is(parseDuration("1.5h"), 5_400_000);
  t.is(formatDuration(parseDuration("168h")), "168h");
  t.is(formatDuration(parseDuration("90m")), "1h30m");
  t.is(parseDuration(".5h"), 1_800_000);
  t.is(parseDuration("+1h2m3.5s"), 3_723_500);
  t.is(parseDuration("2562047h"), 2562047 * 3_600_000);
  for (const bad of ["", "168", "h", "1y", "1h 30m", "1..5h", "--1h"]) {
    t.throws(() => parseDuration(bad), { message: /expected a duration such as 168h/ }, bad);
  }
  // Zero and negative durations get one message, whatever their spelling.
  for (const bad of ["0", "0s", "-1h", "-0.5m", "1ns"]) {
    t.throws(() => parseDuration(bad), { message: /the duration must be positive/ }, bad);
  }
  // Go's bound: 2^63-1 nanoseconds.
  for (const bad of ["99999999999999999999h", "2562048h", "1e3h"]) {
    t.throws(() => parseDuration(bad), { instanceOf: UsageError }, bad);
  }
  t.throws(() => parseDuration("2562048h"), { message: /out of range/ });
  t.is(parseDuration("0s", "--request-timeout", true), 0);
});

test("timestamps are RFC 3339", (t) => {
  t.is(parseTimestamp("2026-11-25T10:00:00Z"), Date.UTC(2026, 10, 25, 10));
  t.is(parseTimestamp("2026-11-25T12:00:00+02:00"), Date.UTC(2026, 10, 25, 10));
  t.is(parseTimestamp("2026-11-25T10:00:00.5Z"), Date.UTC(2026, 10, 25, 10) + 500);
  for (const bad of [
    "2026-11-25",
    "2026-02-31T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "yesterday",
    "2026-11-25 10:00:00Z",
  ]) {
    t.is(parseTimestamp(bad), undefined, bad);
  }
  t.is(formatTimestamp(Date.UTC(2026, 10, 25, 10)), "2026-11-25T10:00:00Z");
  // Years below 100 are those years, not 1900 and after.
  t.is(formatTimestamp(parseTimestamp("0001-01-01T00:00:00Z") as number), "0001-01-01T00:00:00Z");
  t.is(formatTimestamp(parseTimestamp("0099-12-31T23:59:59Z") as number), "0099-12-31T23:59:59Z");
});

test("listen addresses: HOST:PORT, :PORT and [v6]:PORT; anything else is a usage error", (t) => {
  t.deepEqual(hostPort(":6000", "--dnstap-listen"), { port: 6000 });
  t.deepEqual(hostPort("127.0.0.1:8080", "--listen"), { host: "127.0.0.1", port: 8080 });
  t.deepEqual(hostPort("[::1]:53", "--listen"), { host: "::1", port: 53 });
  for (const bad of ["6000", "host:", ":70000", "a:b:1"]) {
    t.throws(() => hostPort(bad, "--listen"), {
      instanceOf: UsageError,
      message: new RegExp(`--listen must be HOST:PORT or :PORT, not "${bad}"`),
    });
  }
});

test("addresses from bytes: remembered v4 texts are the same for the same bytes, v6 is RFC 5952", (t) => {
  const a = ipFromBytes(Uint8Array.from([0, 0, 10, 1, 2, 3]), 2, 4);
  t.is(a?.text, "10.1.2.3");
  t.is(ipFromBytes(Uint8Array.from([10, 1, 2, 3])), a, "the same bytes give the same value");
  t.is(ipFromBytes(Uint8Array.from([10, 1, 2, 4]))?.text, "10.1.2.4");
  const v6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1]);
  t.is(ipFromBytes(v6)?.text, "2001:db8::1");
  t.is(ipFromBytes(Uint8Array.from([1, 2, 3])), undefined);
});

test("a dual-stack listener's IPv4 peer is its IPv4 address", (t) => {
  t.is(peerAddress("::ffff:10.244.0.2"), "10.244.0.2");
  t.is(peerAddress("::FFFF:10.244.0.2"), "10.244.0.2");
  t.is(peerAddress("10.244.0.2"), "10.244.0.2");
  t.is(peerAddress("fd00::2"), "fd00::2");
  t.is(peerAddress("::ffff:a0f4:2"), "::ffff:a0f4:2");
});

test("cluster zones: repeated or comma-separated, normalised once each; anything else is a usage error", (t) => {
  t.deepEqual(parseClusterZones(["cluster.local"]), ["cluster.local"]);
  t.deepEqual(parseClusterZones(["Cluster.Local.", "corp.internal, cluster.local"]), [
    "cluster.local",
    "corp.internal",
  ]);
  for (const bad of ["bad zone!", "*.corp.internal", "", "a..b"]) {
    t.throws(
      () => parseClusterZones([bad]),
      { instanceOf: UsageError, message: /--cluster-domain/ },
      bad,
    );
  }
});

/** A copy of a value with every object's keys in another order (the same content). */
function reordered(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reordered);
  if (v === null || typeof v !== "object") return v;
  const entries = Object.entries(v).reverse();
  return Object.fromEntries(entries.map(([k, x]) => [k, reordered(x)]));
}

test("sameContent agrees with comparing canonical texts", (t) => {
  // JSON-like values with the odd members JSON writes alike (undefined, NaN, -0, null).
  const value = fc.letrec((tie) => ({
    leaf: fc.oneof(
      fc.constantFrom(null, undefined, 0, -0, 1, Number.NaN, "", "a", "null", true, false),
      fc.string({ maxLength: 3 }),
      fc.integer({ min: -2, max: 2 }),
    ),
    node: fc.oneof(
      { depthSize: "small" },
      tie("leaf"),
      fc.array(tie("node"), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom("a", "b", "c", "__proto__", "toString"), tie("node"), {
        maxKeys: 3,
      }),
    ),
  })).node;
  // Flat objects of few keys and values that JSON writes alike: their key sets often differ
  // by one member that is null, undefined or NaN.
  const flat = fc.dictionary(
    fc.constantFrom("a", "b", "c", "__proto__", "toString"),
    fc.constantFrom(null, undefined, 0, -0, Number.NaN, "a"),
    { maxKeys: 4 },
  );
  // Pairs that are often alike: a value beside itself reordered, or beside a near neighbour.
  const pair = fc.oneof(
    fc.tuple(value, value),
    fc.tuple(flat, flat),
    value.map((v) => [v, reordered(v)] as const),
    fc.tuple(value, value, fc.constantFrom("a", "b")).map(
      ([v, w, k]) =>
        [
          { [k]: v, c: 1 },
          { c: 1, [k]: w },
        ] as const,
    ),
  );
  fc.assert(
    fc.property(pair, ([a, b]) => {
      t.is(sameContent(a, b), canonical(a) === canonical(b), `${canonical(a)} vs ${canonical(b)}`);
    }),
    { numRuns: 20_000 },
  );
  // What the webhook compares: a pod template and its stored copy, equal and not.
  const template = { spec: { containers: [{ name: "app", env: [{ name: "A", value: "1" }] }] } };
  t.true(sameContent(template, reordered(JSON.parse(JSON.stringify(template)))));
  t.false(sameContent(template, { spec: { containers: [{ name: "app" }] } }));
  t.false(sameContent({ a: null }, {}));
  t.false(sameContent({ a: null, b: 1 }, { b: 1, c: 2 }));
  t.true(sameContent({ a: undefined }, {}));
});

test("a BoundedMap forgets what it held once it is full, and never holds more than its bound", (t) => {
  const m = new BoundedMap<number, number>(3);
  for (let i = 0; i < 3; i++) m.set(i, i);
  t.is(m.size, 3);
  m.set(3, 3);
  t.deepEqual([...m.keys()], [3]);
  for (let i = 0; i < 100; i++) m.set(i, i);
  t.true(m.size <= 3);
});

test("a timestamp in Kubernetes' own form reads as the same instant in any other RFC 3339 form", (t) => {
  // The form the API server writes (…T09:00:00Z) is read by hand; the others by the general
  // reader. Any digits: out-of-range fields, leap years and seconds, years below 100.
  const two = fc.integer({ min: 0, max: 99 }).map((n) => String(n).padStart(2, "0"));
  fc.assert(
    fc.property(two, two, two, two, two, two, two, (c, y, mo, d, h, mi, s) => {
      const kubernetes = `${c}${y}-${mo}-${d}T${h}:${mi}:${s}Z`;
      const ms = parseTimestamp(kubernetes);
      for (const other of [
        `${c}${y}-${mo}-${d}t${h}:${mi}:${s}z`,
        `${c}${y}-${mo}-${d}T${h}:${mi}:${s}.000Z`,
        `${c}${y}-${mo}-${d}T${h}:${mi}:${s}+00:00`,
      ]) {
        t.is(parseTimestamp(other), ms, other);
      }
      // (A leap second at the end of a day is the next day's first instant.)
      if (ms !== undefined && s !== "60") {
        t.is(formatTimestamp(ms).slice(0, 10), `${c}${y}-${mo}-${d}`);
      }
    }),
    { numRuns: 20_000 },
  );
  t.is(parseTimestamp("2024-02-29T23:59:59Z"), Date.UTC(2024, 1, 29, 23, 59, 59));
  t.is(parseTimestamp("2100-02-29T00:00:00Z"), undefined);
  t.is(parseTimestamp("2026-06-30T23:59:60Z"), Date.UTC(2026, 6, 1), "a leap second");
  t.is(parseTimestamp("2026-06-30T23:59:60z"), Date.UTC(2026, 6, 1), "a leap second");
  for (const bad of ["2026-11-25T09:00:0xZ", "2026-11-25T09:00:00Y", "2026-11-25T9:00:00Z"]) {
    t.is(parseTimestamp(bad), undefined, bad);
  }
});
