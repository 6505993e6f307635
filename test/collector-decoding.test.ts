import test from "ava";
import fc from "fast-check";
import { ipFromBytes } from "../src/ip.js";
import { decodeDnstap, DnstapError, MESSAGE_TYPE } from "../src/collector/dnstap.js";
import {
  DnsMessageError,
  parseDnsResponse,
  resolution,
  resolveResponse,
  RCODE_NXDOMAIN,
} from "../src/collector/dns-message.js";
import {
  CONTROL,
  DNSTAP_CONTENT_TYPE,
  encodeControl,
  encodeData,
  FrameReader,
  FrameStreamError,
  ReceiverSession,
  type ControlFrame,
} from "../src/collector/frame-streams.js";
import { dnsResponse, dnstapFrame } from "./helpers/dnstap.js";

type Seen = { data: Buffer[]; control: ControlFrame[] };

function collect(reader: FrameReader, chunks: Buffer[]): Seen {
  const seen: Seen = { data: [], control: [] };
  const sink = {
    data: (b: Buffer, s: number, e: number) => seen.data.push(Buffer.from(b.subarray(s, e))),
    control: (c: ControlFrame) => seen.control.push(c),
  };
  for (const c of chunks) reader.push(c, sink);
  return seen;
}

/** Cuts bytes at the given offsets. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((a) => a % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  return out;
}

test("frames come out whole however the stream is cut into chunks", (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (payloads, cuts) => {
        const stream = Buffer.concat([
          encodeControl(CONTROL.START, [DNSTAP_CONTENT_TYPE]),
          ...payloads.map((p) => encodeData(p)),
          encodeControl(CONTROL.STOP),
        ]);
        const reader = new FrameReader();
        const seen = collect(reader, cut(stream, cuts));
        t.deepEqual(
          seen.data.map((d) => [...d]),
          payloads.map((p) => [...p]),
        );
        t.deepEqual(
          seen.control.map((c) => c.control),
          [CONTROL.START, CONTROL.STOP],
        );
        t.deepEqual(seen.control[0]?.contentTypes, [DNSTAP_CONTENT_TYPE]);
        t.is(reader.buffered, 0);
      },
    ),
    { numRuns: 300 },
  );
});

test("a bidirectional session: READY is answered with ACCEPT, STOP with FINISH", (t) => {
  const s = new ReceiverSession();
  const accept = s.control({ control: CONTROL.READY, contentTypes: ["x", DNSTAP_CONTENT_TYPE] });
  t.deepEqual(accept.send, encodeControl(CONTROL.ACCEPT, [DNSTAP_CONTENT_TYPE]));
  t.false(s.dataAllowed());
  t.deepEqual(s.control({ control: CONTROL.START, contentTypes: [DNSTAP_CONTENT_TYPE] }), {});
  t.true(s.dataAllowed());
  const finish = s.control({ control: CONTROL.STOP, contentTypes: [] });
  t.deepEqual(finish.send, encodeControl(CONTROL.FINISH));
  t.true(finish.close);
  t.false(s.dataAllowed());
});

test("a unidirectional session starts with START and ends at STOP without FINISH", (t) => {
  const s = new ReceiverSession();
  t.deepEqual(s.control({ control: CONTROL.START, contentTypes: [] }), {});
  t.true(s.dataAllowed());
  t.deepEqual(s.control({ control: CONTROL.STOP, contentTypes: [] }), { close: true });
});

test("protocol violations are FrameStreamErrors that say what was wrong", (t) => {
  const wrongType = new ReceiverSession();
  t.throws(() => wrongType.control({ control: CONTROL.READY, contentTypes: ["protobuf:x"] }), {
    instanceOf: FrameStreamError,
    message: /READY offers "protobuf:x", not "protobuf:dnstap.Dnstap"/,
  });
  const early = new ReceiverSession();
  t.throws(() => early.control({ control: CONTROL.STOP, contentTypes: [] }), {
    instanceOf: FrameStreamError,
    message: /unexpected STOP frame \(session handshake\)/,
  });
  const twice = new ReceiverSession();
  twice.control({ control: CONTROL.START, contentTypes: [] });
  t.throws(() => twice.control({ control: CONTROL.START, contentTypes: [] }), {
    message: /unexpected START frame \(session started\)/,
  });

  const big = Buffer.alloc(8);
  big.writeUInt32BE(2 << 20, 0);
  t.throws(() => collect(new FrameReader(), [big]), {
    instanceOf: FrameStreamError,
    message: /data frame of 2097152 bytes is larger than the limit of 1048576/,
  });
  const bigControl = Buffer.from([0, 0, 0, 0, 0, 0, 4, 0]);
  t.throws(() => collect(new FrameReader(), [bigControl]), {
    message: /control frame of 1024 bytes is larger than the limit of 512/,
  });
  const unknown = Buffer.from([0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 9]);
  t.throws(() => collect(new FrameReader(), [unknown]), {
    message: /unknown control frame type 9/,
  });
});

test("a CLIENT_RESPONSE encoded from dnstap.proto is read back: client, time and response", async (t) => {
  const response = dnsResponse({
    question: "api.example.com",
    answers: [{ name: "api.example.com", type: "A", ip: "93.184.216.34" }],
  });
  const timeMs = Date.parse("2026-11-25T09:30:00.250Z");
  const frame = await dnstapFrame({ client: "10.1.2.3", response, timeMs, identity: "coredns-1" });
  const m = decodeDnstap(frame);
  t.is(m?.type, MESSAGE_TYPE.CLIENT_RESPONSE);
  t.is(ipFromBytes(m?.queryAddress ?? new Uint8Array())?.text, "10.1.2.3");
  t.is(m?.timeMs, timeMs);
  t.deepEqual(Buffer.from(m?.responseMessage ?? []), response);

  const v6 = decodeDnstap(await dnstapFrame({ client: "fd00::a:1", response }));
  t.is(ipFromBytes(v6?.queryAddress ?? new Uint8Array())?.text, "fd00::a:1");
  const query = decodeDnstap(await dnstapFrame({ client: "10.1.2.3", type: 5 }));
  t.is(query?.type, MESSAGE_TYPE.CLIENT_QUERY);
  t.is(query?.responseMessage, undefined);
});

test("a DNS answer: the asked name, its addresses through CNAMEs, and the smallest TTL", (t) => {
  const r = parseDnsResponse(
    dnsResponse({
      question: "API.Example.com",
      compress: true,
      answers: [
        // Out of order on purpose: servers may send the chain in any order.
        { name: "edge.cdn.example.net", type: "A", ip: "203.0.113.7", ttl: 20 },
        { name: "api.example.com", type: "CNAME", target: "lb.example.com", ttl: 300 },
        { name: "lb.example.com", type: "CNAME", target: "edge.cdn.example.net", ttl: 60 },
        { name: "edge.cdn.example.net", type: "AAAA", ip: "2001:db8::7", ttl: 40 },
        { name: "unrelated.example.org", type: "A", ip: "198.51.100.1" },
      ],
    }),
  );
  t.is(r.question, "api.example.com");
  t.deepEqual(resolution(r), {
    name: "api.example.com",
    ips: ["203.0.113.7", "2001:db8::7"],
    ttl: 20,
  });
});

test("search-path misses (NXDOMAIN), empty answers and dangling CNAMEs resolve to nothing", (t) => {
  const miss = parseDnsResponse(
    dnsResponse({ question: "api.example.com.default.svc.cluster.local", rcode: RCODE_NXDOMAIN }),
  );
  t.is(miss.rcode, RCODE_NXDOMAIN);
  t.is(resolution(miss), undefined);
  t.is(resolution(parseDnsResponse(dnsResponse({ question: "v4only.example.com" }))), undefined);
  const dangling = parseDnsResponse(
    dnsResponse({
      question: "a.example.com",
      answers: [{ name: "a.example.com", type: "CNAME", target: "b.example.com" }],
    }),
  );
  t.is(resolution(dangling), undefined);
});

test("malformed DNS messages are DnsMessageErrors", (t) => {
  t.throws(() => parseDnsResponse(Buffer.alloc(5)), {
    instanceOf: DnsMessageError,
    message: /shorter than its header/,
  });
  // A name that points at itself.
  const loop = Buffer.from([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
  t.throws(() => parseDnsResponse(loop), { message: /compression pointer loop/ });
  const ok = dnsResponse({
    question: "a.example.com",
    answers: [{ name: "a.example.com", type: "A", ip: "192.0.2.1" }],
  });
  t.throws(() => parseDnsResponse(ok.subarray(0, ok.length - 2)), {
    message: /record data runs past the message/,
  });
});

/** Random and mutated input: a typed error or a value, never anything else. */
function onlyTyped(
  t: { fail(m: string): void },
  f: () => unknown,
  types: Array<new (...args: never[]) => Error>,
): void {
  try {
    f();
  } catch (e) {
    if (!types.some((k) => e instanceof k)) t.fail(`unexpected ${String(e)}`);
  }
}

test("fuzz: random and mutated dnstap frames and DNS messages never throw anything untyped", async (t) => {
  const response = dnsResponse({
    question: "api.example.com",
    compress: true,
    answers: [
      { name: "api.example.com", type: "CNAME", target: "lb.example.com" },
      { name: "lb.example.com", type: "A", ip: "192.0.2.1" },
    ],
  });
  const frame = await dnstapFrame({ client: "10.0.0.1", response });
  const mutate = (base: Buffer) =>
    fc
      .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })
      .chain((edits) =>
        fc.nat(base.length).map((cutAt) => {
          const b = Buffer.from(base.subarray(0, Math.max(cutAt, base.length - 3)));
          for (const [i, v] of edits) if (b.length > 0) b[i % b.length] = v;
          return b;
        }),
      );
  const parseAll = (b: Uint8Array) => {
    const m = decodeDnstap(b);
    if (m?.responseMessage) resolution(parseDnsResponse(m.responseMessage));
  };
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutate(frame)), (b) =>
      onlyTyped(t, () => parseAll(b), [DnstapError, DnsMessageError]),
    ),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutate(response)), (b) =>
      onlyTyped(t, () => resolution(parseDnsResponse(b)), [DnsMessageError]),
    ),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), (chunks) => {
      const reader = new FrameReader(4096);
      const session = new ReceiverSession();
      onlyTyped(t, () => {
        for (const c of chunks) {
          reader.push(Buffer.from(c), {
            data: () => undefined,
            control: (f) => session.control(f),
          });
        }
      }, [FrameStreamError]);
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test("property: resolveResponse reads what parseDnsResponse and resolution read, and fails alike", (t) => {
  const label = fc.stringMatching(/^[a-zA-Z0-9-]{1,12}$/);
  const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join("."));
  const pool = ["q.example.com", "a.example.net", "b.example.net", "c.example.org"];
  const answer = fc.oneof(
    fc.record({
      name: fc.constantFrom(...pool),
      type: fc.constant("A" as const),
      ip: fc.ipV4(),
      ttl: fc.nat(1000),
    }),
    fc.record({
      name: fc.constantFrom(...pool),
      type: fc.constant("AAAA" as const),
      ip: fc.constantFrom("2001:db8::1", "fd00::a:1", "::1"),
      ttl: fc.nat(1000),
    }),
    fc.record({
      name: fc.constantFrom(...pool),
      type: fc.constant("CNAME" as const),
      target: fc.oneof(fc.constantFrom(...pool), name),
      ttl: fc.nat(1000),
    }),
  );
  const message = fc
    .record({
      answers: fc.array(answer, { maxLength: 8 }),
      rcode: fc.constantFrom(0, 0, 0, 3),
      compress: fc.boolean(),
      cut: fc.option(fc.nat(), { nil: undefined }),
    })
    .map((m) => {
      const b = dnsResponse({ question: "Q.example.com", ...m });
      return m.cut === undefined ? b : b.subarray(0, m.cut % (b.length + 1));
    });
  const outcome = (f: () => unknown) => {
    try {
      return { value: f() };
    } catch (e) {
      return { error: e instanceof DnsMessageError ? "DnsMessageError" : String(e) };
    }
  };
  fc.assert(
    fc.property(message, (b) => {
      const fast = outcome(() => resolveResponse(b));
      const slow = outcome(() => resolution(parseDnsResponse(b)));
      // An error response is not read further by the fast path: both say "nothing".
      if (b.length >= 4 && (b[3] as number) % 16 !== 0) t.is(fast.value, undefined);
      else t.deepEqual(fast, slow);
    }),
    { numRuns: 2000 },
  );
});
