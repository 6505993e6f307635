import protobuf from "protobufjs";

/**
 * The data of `npm run bench:collector`: one pod per workload, and dnstap frames as CoreDNS
 * sends them with `dnstap … full` (a CLIENT_QUERY and a CLIENT_RESPONSE per lookup), encoded
 * by protobufjs from the real dnstap.proto (test/helpers/dnstap-proto.ts).
 */

export function podIp(w: number): string {
  return `10.${(w >> 16) & 255}.${(w >> 8) & 255}.${w & 255}`;
}

function name(labels: string[]): number[] {
  const out: number[] = [];
  for (const l of labels) out.push(l.length, ...Buffer.from(l, "latin1"));
  out.push(0);
  return out;
}

/** A query for `host` and its answer: a CNAME to a CDN name with two A records. */
function dnsMessages(host: string, answerSeed: number): { query: Buffer; response: Buffer } {
  const q = [...name(host.split(".")), 0, 1, 0, 1];
  const header = (flags: number, an: number) => [
    0x12,
    0x34,
    flags >> 8,
    flags & 255,
    0,
    1,
    0,
    an,
    0,
    0,
    0,
    0,
  ];
  const cdn = name(["edge", `e${answerSeed % 97}`, "cdn", "example", "net"]);
  const rr = (owner: number[], type: number, rdata: number[]) => [
    ...owner,
    0,
    type,
    0,
    1,
    0,
    0,
    0,
    60,
    rdata.length >> 8,
    rdata.length & 255,
    ...rdata,
  ];
  const a = (i: number) => [203, 0, (answerSeed >> 8) & 255, (answerSeed + i) & 255];
  return {
    query: Buffer.from([...header(0x0100, 0), ...q]),
    response: Buffer.from([
      ...header(0x8180, 3),
      ...q,
      ...rr([0xc0, 12], 5, cdn),
      ...rr(cdn, 1, a(0)),
      ...rr(cdn, 1, a(1)),
    ]),
  };
}

export async function dnstapEncoder(protoFile: string) {
  const root = await protobuf.load(protoFile);
  const Dnstap = root.lookupType("dnstap.Dnstap");
  const identity = Buffer.from("coredns-7c9d8f6b5-x2k4q");
  const version = Buffer.from("CoreDNS-1.15.0");
  const server = Buffer.from([10, 96, 0, 10]);
  /** The two frames (with their Frame Streams length prefixes) of one lookup. */
  return (client: Buffer, host: string, seed: number, timeMs: number): Buffer[] => {
    const { query, response } = dnsMessages(host, seed);
    const sec = Math.floor(timeMs / 1000);
    const common = {
      socketFamily: 1,
      socketProtocol: 1,
      queryAddress: client,
      responseAddress: server,
      queryPort: 40000 + (seed % 20000),
      responsePort: 53,
      queryTimeSec: sec,
      queryTimeNsec: 1000,
    };
    const frames = [
      { type: 1, identity, version, message: { ...common, type: 5, queryMessage: query } },
      {
        type: 1,
        identity,
        version,
        message: {
          ...common,
          type: 6,
          responseTimeSec: sec,
          responseTimeNsec: 5000,
          responseMessage: response,
        },
      },
    ];
    return frames.map((f) => {
      const payload = Dnstap.encode(Dnstap.create(f)).finish();
      const out = Buffer.allocUnsafe(4 + payload.length);
      out.writeUInt32BE(payload.length, 0);
      out.set(payload, 4);
      return out;
    });
  };
}
