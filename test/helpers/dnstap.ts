import protobuf from "protobufjs";
import { dnstapProto } from "./dnstap-proto.js";

/**
 * Fixture factories for the collector: DNS responses in wire format, and dnstap frames
 * encoded by protobufjs from the real dnstap.proto (./dnstap-proto.ts; not by our decoder's
 * idea of it).
 */

export type Answer =
  | { name: string; type: "A" | "AAAA"; ip: string; ttl?: number }
  | { name: string; type: "CNAME"; target: string; ttl?: number };

function encodeName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.split(".").filter((l) => l !== "")) {
    out.push(label.length, ...Buffer.from(label, "latin1"));
  }
  out.push(0);
  return out;
}

function ipBytes(ip: string): number[] {
  if (!ip.includes(":")) return ip.split(".").map(Number);
  const [head = "", tail = ""] = ip.split("::");
  const h = head === "" ? [] : head.split(":");
  const t = ip.includes("::") ? (tail === "" ? [] : tail.split(":")) : [];
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
}

const u16 = (n: number) => [n >> 8, n & 0xff];
const u32 = (n: number) => [...u16(Math.floor(n / 65536)), ...u16(n % 65536)];

/** A DNS response as a server sends it (no name compression unless `compress`). */
export function dnsResponse(opts: {
  question: string;
  qtype?: "A" | "AAAA";
  rcode?: number;
  answers?: Answer[];
  /** Write each answer's owner name as a pointer to the question (as servers do). */
  compress?: boolean;
}): Buffer {
  const answers = opts.answers ?? [];
  const qname = encodeName(opts.question);
  const out = [
    ...u16(0x1234),
    ...u16(0x8180 | (opts.rcode ?? 0)),
    ...u16(1),
    ...u16(answers.length),
    ...u16(0),
    ...u16(0),
    ...qname,
    ...u16(opts.qtype === "AAAA" ? 28 : 1),
    ...u16(1),
  ];
  for (const a of answers) {
    const owner =
      opts.compress && a.name.toLowerCase() === opts.question.toLowerCase()
        ? [0xc0, 12]
        : encodeName(a.name);
    const type = a.type === "A" ? 1 : a.type === "AAAA" ? 28 : 5;
    const rdata = a.type === "CNAME" ? encodeName(a.target) : ipBytes(a.ip);
    out.push(...owner, ...u16(type), ...u16(1), ...u32(a.ttl ?? 30), ...u16(rdata.length));
    out.push(...rdata);
  }
  return Buffer.from(out);
}

let dnstapType: protobuf.Type | undefined;

async function dnstap(): Promise<protobuf.Type> {
  dnstapType ??= (await protobuf.load(dnstapProto())).lookupType("dnstap.Dnstap");
  return dnstapType;
}

/** A dnstap.Dnstap message (CLIENT_RESPONSE unless `type` says otherwise), encoded. */
export async function dnstapFrame(opts: {
  client: string;
  response?: Uint8Array;
  timeMs?: number;
  type?: number;
  identity?: string;
}): Promise<Buffer> {
  const t = await dnstap();
  const time = opts.timeMs ?? Date.now();
  const family = opts.client.includes(":") ? 2 : 1;
  const message = {
    type: opts.type ?? 6,
    socketFamily: family,
    socketProtocol: 1,
    queryAddress: Buffer.from(ipBytes(opts.client)),
    queryPort: 53000,
    queryTimeSec: Math.floor(time / 1000) - 1,
    queryTimeNsec: 0,
    responseTimeSec: Math.floor(time / 1000),
    responseTimeNsec: (time % 1000) * 1e6,
    ...(opts.response ? { responseMessage: opts.response } : {}),
  };
  const value = {
    type: 1,
    message,
    ...(opts.identity ? { identity: Buffer.from(opts.identity) } : {}),
  };
  const err = t.verify(value);
  if (err) throw new Error(err);
  return Buffer.from(t.encode(t.fromObject(value)).finish());
}
