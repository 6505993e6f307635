import { ipFromBytes } from "../ip.js";

/**
 * DNS responses in wire format (RFC 1035), read as far as the collector needs: the question,
 * and the A, AAAA and CNAME records of the answer section, with their TTLs. Names come out
 * lower-case, without the trailing dot.
 */

export class DnsMessageError extends Error {
  override readonly name = "DnsMessageError";
}

export const RCODE_NOERROR = 0;
export const RCODE_NXDOMAIN = 3;
const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
const MAX_NAME = 255;
/** Compression pointers followed for one name before it counts as a loop. */
const MAX_JUMPS = 64;

export type AnswerRecord =
  | {
      readonly name: string;
      readonly type: "A" | "AAAA";
      readonly ttl: number;
      readonly ip: string;
    }
  | {
      readonly name: string;
      readonly type: "CNAME";
      readonly ttl: number;
      readonly target: string;
    };

export interface DnsResponse {
  readonly rcode: number;
  /** The asked name (the first question); undefined when the message has none. */
  readonly question?: string;
  readonly answers: readonly AnswerRecord[];
}

function u16(b: Uint8Array, at: number): number {
  return ((b[at] as number) << 8) | (b[at + 1] as number);
}

/** A (possibly compressed) name at `at`: the name and the offset after it in place. */
function readName(b: Uint8Array, start: number): [string, number] {
  let at = start;
  let after = -1;
  let jumps = 0;
  let length = 0;
  let name = "";
  for (;;) {
    if (at >= b.length) throw new DnsMessageError("name runs past the message");
    const len = b[at] as number;
    if (len === 0) {
      if (after < 0) after = at + 1;
      return [name, after];
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (at + 1 >= b.length) throw new DnsMessageError("truncated compression pointer");
      if (after < 0) after = at + 2;
      if (++jumps > MAX_JUMPS) throw new DnsMessageError("compression pointer loop");
      at = ((len & 0x3f) << 8) | (b[at + 1] as number);
      continue;
    }
    if (kind !== 0) throw new DnsMessageError(`unsupported label type 0x${kind.toString(16)}`);
    if (at + 1 + len > b.length) throw new DnsMessageError("label runs past the message");
    length += len + 1;
    if (length > MAX_NAME) throw new DnsMessageError("name longer than 255 bytes");
    let label = "";
    for (let i = at + 1; i <= at + len; i++) {
      let c = b[i] as number;
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      label += String.fromCharCode(c);
    }
    name = name === "" ? label : `${name}.${label}`;
    at += 1 + len;
  }
}

/** Reads a DNS message; throws DnsMessageError when it is malformed. */
export function parseDnsResponse(b: Uint8Array): DnsResponse {
  if (b.length < 12) throw new DnsMessageError("message shorter than its header");
  const flags = u16(b, 2);
  const rcode = flags & 0x0f;
  const qdcount = u16(b, 4);
  const ancount = u16(b, 6);
  let at = 12;
  let question: string | undefined;
  for (let i = 0; i < qdcount; i++) {
    const [name, next] = readName(b, at);
    if (next + 4 > b.length) throw new DnsMessageError("truncated question");
    if (i === 0) question = name;
    at = next + 4;
  }
  const answers: AnswerRecord[] = [];
  for (let i = 0; i < ancount; i++) {
    const [name, next] = readName(b, at);
    if (next + 10 > b.length) throw new DnsMessageError("truncated resource record");
    const type = u16(b, next);
    const klass = u16(b, next + 2);
    const ttl = u16(b, next + 4) * 65536 + u16(b, next + 6);
    const rdlength = u16(b, next + 8);
    const rdata = next + 10;
    if (rdata + rdlength > b.length) throw new DnsMessageError("record data runs past the message");
    at = rdata + rdlength;
    if (klass !== CLASS_IN) continue;
    if (type === TYPE_A || type === TYPE_AAAA) {
      const ip = ipFromBytes(b.subarray(rdata, rdata + rdlength));
      if (!ip || (type === TYPE_A) !== (ip.family === 4)) {
        throw new DnsMessageError(`${type === TYPE_A ? "A" : "AAAA"} record of ${rdlength} bytes`);
      }
      answers.push({ name, type: type === TYPE_A ? "A" : "AAAA", ttl, ip: ip.text });
    } else if (type === TYPE_CNAME) {
      const [target, end] = readName(b, rdata);
      if (end > rdata + rdlength) throw new DnsMessageError("CNAME target runs past its record");
      answers.push({ name, type: "CNAME", ttl, target });
    }
  }
  return question === undefined ? { rcode, answers } : { rcode, question, answers };
}

/** What one answer tells: the asked name resolved to these addresses. */
export interface Resolution {
  readonly name: string;
  readonly ips: readonly string[];
  /** The smallest TTL along the chain, in seconds. */
  readonly ttl: number;
}

/**
 * The addresses the asked name resolved to, following CNAMEs from it (in any order, as
 * servers may send them). Undefined for an error (NXDOMAIN: a search-path miss), an empty
 * answer, or records that do not lead back to the asked name.
 */
export function resolution(r: DnsResponse): Resolution | undefined {
  if (r.rcode !== RCODE_NOERROR || r.question === undefined || r.answers.length === 0) {
    return undefined;
  }
  const chain = new Set<string>([r.question]);
  let ttl = Infinity;
  // Grow the chain until no CNAME adds to it (bounded by the number of records).
  for (let grew = true; grew;) {
    grew = false;
    for (const a of r.answers) {
      if (a.type === "CNAME" && chain.has(a.name) && !chain.has(a.target)) {
        chain.add(a.target);
        ttl = Math.min(ttl, a.ttl);
        grew = true;
      }
    }
  }
  const ips: string[] = [];
  for (const a of r.answers) {
    if (a.type !== "CNAME" && chain.has(a.name) && !ips.includes(a.ip)) {
      ips.push(a.ip);
      ttl = Math.min(ttl, a.ttl);
    }
  }
  if (ips.length === 0) return undefined;
  return { name: r.question, ips, ttl };
}
