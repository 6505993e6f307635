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

/** A name is spelled here (lower-cased, dotted) before it becomes one flat string. */
const scratch = Buffer.alloc(MAX_NAME + 1);
/** Where the name readName last read ends in place (after it, or after its pointer). */
let nameEnd = 0;

/** A (possibly compressed) name at `start`; nameEnd is left after it. */
function readName(b: Uint8Array, start: number): string {
  let at = start;
  let after = -1;
  let jumps = 0;
  let length = 0;
  for (;;) {
    if (at >= b.length) throw new DnsMessageError("name runs past the message");
    const len = b[at] as number;
    if (len === 0) {
      nameEnd = after < 0 ? at + 1 : after;
      return scratch.toString("latin1", 0, length === 0 ? 0 : length - 1);
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
    if (length + len + 1 > MAX_NAME) throw new DnsMessageError("name longer than 255 bytes");
    for (let i = at + 1; i <= at + len; i++) {
      const c = b[i] as number;
      scratch[length++] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
    }
    scratch[length++] = 0x2e;
    at += 1 + len;
  }
}

/*
 * The answer section is read into these arrays, reused by every call: the collector reads one
 * response per lookup in the cluster, and allocating per record would keep its GC busy.
 */
const rrName: string[] = [];
const rrType: number[] = [];
const rrTtl: number[] = [];
/** The address (A, AAAA) or the CNAME's target. */
const rrValue: string[] = [];

/** The header's counts, and the question (first one) read; `at` is after the questions. */
function readQuestions(b: Uint8Array): { question: string | undefined; at: number } {
  if (b.length < 12) throw new DnsMessageError("message shorter than its header");
  const qdcount = u16(b, 4);
  let at = 12;
  let question: string | undefined;
  for (let i = 0; i < qdcount; i++) {
    const name = readName(b, at);
    const next = nameEnd;
    if (next + 4 > b.length) throw new DnsMessageError("truncated question");
    if (i === 0) question = name;
    at = next + 4;
  }
  return { question, at };
}

/** Reads the answer section from `start` into the rr arrays; returns how many were kept. */
function readAnswers(b: Uint8Array, start: number): number {
  const ancount = u16(b, 6);
  let at = start;
  let n = 0;
  for (let i = 0; i < ancount; i++) {
    const name = readName(b, at);
    const next = nameEnd;
    if (next + 10 > b.length) throw new DnsMessageError("truncated resource record");
    const type = u16(b, next);
    const klass = u16(b, next + 2);
    const ttl = u16(b, next + 4) * 65536 + u16(b, next + 6);
    const rdlength = u16(b, next + 8);
    const rdata = next + 10;
    if (rdata + rdlength > b.length) throw new DnsMessageError("record data runs past the message");
    at = rdata + rdlength;
    if (klass !== CLASS_IN) continue;
    let value: string;
    if (type === TYPE_A || type === TYPE_AAAA) {
      const ip = ipFromBytes(b, rdata, rdlength);
      if (!ip || (type === TYPE_A) !== (ip.family === 4)) {
        throw new DnsMessageError(`${type === TYPE_A ? "A" : "AAAA"} record of ${rdlength} bytes`);
      }
      value = ip.text;
    } else if (type === TYPE_CNAME) {
      value = readName(b, rdata);
      if (nameEnd > rdata + rdlength)
        throw new DnsMessageError("CNAME target runs past its record");
    } else continue;
    rrName[n] = name;
    rrType[n] = type;
    rrTtl[n] = ttl;
    rrValue[n] = value;
    n++;
  }
  return n;
}

/**
 * Reads a DNS message into records; throws DnsMessageError when it is malformed. With
 * `resolution`, the plain reading that `resolveResponse` (what the collector runs, without
 * building records) is tested against.
 */
export function parseDnsResponse(b: Uint8Array): DnsResponse {
  const { question, at } = readQuestions(b);
  const rcode = u16(b, 2) & 0x0f;
  const n = readAnswers(b, at);
  const answers: AnswerRecord[] = [];
  for (let i = 0; i < n; i++) {
    const name = rrName[i] as string;
    const ttl = rrTtl[i] as number;
    const value = rrValue[i] as string;
    answers.push(
      rrType[i] === TYPE_CNAME
        ? { name, type: "CNAME", ttl, target: value }
        : { name, type: rrType[i] === TYPE_A ? "A" : "AAAA", ttl, ip: value },
    );
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
 * What a response in wire format tells (resolution of parseDnsResponse, without building the
 * records). Throws DnsMessageError when it is malformed.
 *
 * With `isLocal` (a name in the cluster's own domain), a local question whose CNAME chain
 * leaves the domain is named by the first name outside it: the real name behind a
 * search-expanded question (CoreDNS's autopath), or an ExternalName Service's external name.
 */
export function resolveResponse(
  b: Uint8Array,
  isLocal?: (name: string) => boolean,
): Resolution | undefined {
  if (b.length >= 4 && (u16(b, 2) & 0x0f) !== RCODE_NOERROR) return undefined;
  const { question, at } = readQuestions(b);
  if (question === undefined) return undefined;
  const n = readAnswers(b, at);
  // The names that lead from the question (through CNAMEs), in a reused array.
  chain[0] = question;
  let links = 1;
  let ttl = Infinity;
  for (let grew = true; grew;) {
    grew = false;
    for (let i = 0; i < n; i++) {
      if (rrType[i] !== TYPE_CNAME) continue;
      const target = rrValue[i] as string;
      if (onChain(rrName[i] as string, links) && !onChain(target, links)) {
        chain[links++] = target;
        ttl = Math.min(ttl, rrTtl[i] as number);
        grew = true;
      }
    }
  }
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (rrType[i] !== TYPE_CNAME && onChain(rrName[i] as string, links)) count++;
  }
  if (count === 0) return undefined;
  const ips: string[] = new Array<string>(count);
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (rrType[i] === TYPE_CNAME || !onChain(rrName[i] as string, links)) continue;
    const ip = rrValue[i] as string;
    let seen = false;
    for (let j = 0; j < k && !seen; j++) seen = ips[j] === ip;
    if (seen) continue;
    ips[k++] = ip;
    ttl = Math.min(ttl, rrTtl[i] as number);
  }
  ips.length = k;
  let name = question;
  if (isLocal && links > 1 && isLocal(question)) {
    for (let i = 1; i < links; i++) {
      const c = chain[i] as string;
      if (!isLocal(c)) {
        name = c;
        break;
      }
    }
  }
  return { name, ips, ttl };
}

const chain: string[] = [];

function onChain(name: string, links: number): boolean {
  for (let i = 0; i < links; i++) if (chain[i] === name) return true;
  return false;
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
  // Chains are short: arrays beat sets here (this runs for every answer a cluster gets).
  const chain: string[] = [r.question];
  let ttl = Infinity;
  // Grow the chain until no CNAME adds to it (bounded by the number of records).
  for (let grew = true; grew;) {
    grew = false;
    for (const a of r.answers) {
      if (a.type === "CNAME" && chain.includes(a.name) && !chain.includes(a.target)) {
        chain.push(a.target);
        ttl = Math.min(ttl, a.ttl);
        grew = true;
      }
    }
  }
  const ips: string[] = [];
  for (const a of r.answers) {
    if (a.type !== "CNAME" && chain.includes(a.name) && !ips.includes(a.ip)) {
      ips.push(a.ip);
      ttl = Math.min(ttl, a.ttl);
    }
  }
  if (ips.length === 0) return undefined;
  return { name: r.question, ips, ttl };
}
