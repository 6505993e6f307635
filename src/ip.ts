import { BoundedMap } from "./bounded-map.js";
import { ownCopy } from "./own-copy.js";

/**
 * IP addresses and CIDR blocks, v4 and v6, as plain values. Addresses are held
 * as bigint so one code path serves both families.
 */

export interface IpAddress {
  readonly family: 4 | 6;
  /**
   * Canonical text (dotted v4, compressed lower-case v6): equal addresses, equal texts. The
   * number (ipValue) is computed only for CIDR checks: the webhook keeps hundreds of thousands
   * of addresses in memory, and most are only ever compared as texts.
   */
  readonly text: string;
}

export interface IpNetwork {
  readonly family: 4 | 6;
  /** The network address (host bits cleared). */
  readonly base: bigint;
  readonly prefix: number;
  /** The prefix as a bit mask. */
  readonly mask: bigint;
  /** For a single address (/32, /128): its canonical text, as IpAddress.text. */
  readonly host?: string;
}

/**
 * A dotted IPv4 address in its canonical spelling (four numbers from 0 to 255, no leading
 * zeros) as a number. By hand, not by a regular expression: snapshots hold millions.
 */
function parseV4(text: string): number | undefined {
  const n = text.length;
  if (n < 7 || n > 15) return undefined;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      // "0" alone, never "01".
      if (digits > 0 && part === 0) return undefined;
      part = part * 10 + (c - 48);
      digits++;
      if (part > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || digits === 0) return undefined;
  return value * 256 + part;
}

function parseGroups(text: string): bigint[] | undefined {
  if (text === "") return [];
  const groups: bigint[] = [];
  const parts = text.split(":");
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (i === parts.length - 1 && part.includes(".")) {
      const v4 = parseV4(part);
      if (v4 === undefined) return undefined;
      groups.push(BigInt(Math.floor(v4 / 65536)), BigInt(v4 % 65536));
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
      groups.push(BigInt(parseInt(part, 16)));
    }
  }
  return groups;
}

function parseV6(text: string): bigint | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] as string);
  const tail = halves.length === 2 ? parseGroups(halves[1] as string) : [];
  if (!head || !tail) return undefined;
  // An embedded IPv4 part may only end the address.
  if (halves.length === 2 && (halves[0] as string).includes(".")) return undefined;
  let groups: bigint[];
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return undefined;
    groups = [...head, ...new Array<bigint>(fill).fill(0n), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Whether the text is an IPv4 address in canonical spelling (then parseIp keeps it as is). */
export function isCanonicalV4(text: string): boolean {
  return parseV4(text) !== undefined;
}

/** Parses one address ("104.18.7.192", "2606:4700::6812:7c0"); undefined when it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(":")) {
    const value = parseV6(text);
    return value === undefined ? undefined : { family: 6, text: formatV6(value) };
  }
  // parseV4 takes only the canonical spelling (no leading zeros), so the text is kept as is.
  return parseV4(text) === undefined ? undefined : { family: 4, text };
}

/** The address as a number (of 32 or 128 bits). */
export function ipValue(ip: IpAddress): bigint {
  return ip.family === 4 ? BigInt(parseV4(ip.text) ?? 0) : (parseV6(ip.text) ?? 0n);
}

function bits(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

function computeMask(family: 4 | 6, prefix: number): bigint {
  const width = BigInt(bits(family));
  const hostBits = width - BigInt(prefix);
  return ((1n << width) - 1n) ^ ((1n << hostBits) - 1n);
}

/** Every prefix's mask, computed once. */
const MASKS = {
  4: Array.from({ length: 33 }, (_, p) => computeMask(4, p)),
  6: Array.from({ length: 129 }, (_, p) => computeMask(6, p)),
};

function mask(family: 4 | 6, prefix: number): bigint {
  return MASKS[family][prefix] as bigint;
}

/** Parses an address or a CIDR block; a bare address is a /32 or /128. Host bits are allowed, as the operator allows them. */
export function parseNetwork(text: string): IpNetwork | undefined {
  let n = networks.get(text);
  if (n === undefined) {
    n = readNetwork(text) ?? null;
    networks.set(ownCopy(text), n);
  }
  return n ?? undefined;
}

/**
 * Networks read so far, by their text (null: not a network): the same declared IPs are read
 * in every admission review and every file. The values are shared, so read-only.
 */
const NETWORKS_MAX = 50_000;
const networks = new BoundedMap<string, IpNetwork | null>(NETWORKS_MAX);

function readNetwork(text: string): IpNetwork | undefined {
  const slash = text.indexOf("/");
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseIp(addrText);
  if (!addr) return undefined;
  let prefix = bits(addr.family);
  if (slash >= 0) {
    const prefixText = text.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(prefixText)) return undefined;
    prefix = Number(prefixText);
    if (prefix > bits(addr.family)) return undefined;
  }
  const m = mask(addr.family, prefix);
  const base = ipValue(addr) & m;
  return prefix === bits(addr.family)
    ? { family: addr.family, base, prefix, mask: m, host: ownCopy(addr.text) }
    : { family: addr.family, base, prefix, mask: m };
}

export function networkContains(net: IpNetwork, ip: IpAddress): boolean {
  return net.family === ip.family && (ipValue(ip) & net.mask) === net.base;
}

/** A stable text for an address (used as a key and in suggestions): dotted v4, compressed lower-case v6. */
export function formatIp(ip: IpAddress): string {
  return ip.text;
}

function formatAddress(family: 4 | 6, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join(".");
  }
  return formatV6(value);
}

function formatV6(value: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  return formatV6Groups(groups);
}

/**
 * An address from `length` bytes at `start` in network order, as DNS answers and dnstap
 * carry it: 4 bytes (v4) or 16 (v6); undefined for any other length.
 */
export function ipFromBytes(
  b: Uint8Array,
  start = 0,
  length = b.length - start,
): IpAddress | undefined {
  if (length === 4) {
    // The collector reads one or more per DNS answer, mostly the same few: remembered, by
    // the first three bytes (a small integer key) and then the last.
    const b0 = b[start] as number;
    const b1 = b[start + 1] as number;
    const b2 = b[start + 2] as number;
    const b3 = b[start + 3] as number;
    const prefix = (b0 << 16) | (b1 << 8) | b2;
    let block = v4Known.get(prefix);
    if (!block) {
      block = new Array<IpAddress | undefined>(256);
      v4Known.set(prefix, block);
    }
    return (block[b3] ??= { family: 4, text: `${b0}.${b1}.${b2}.${b3}` });
  }
  if (length !== 16) return undefined;
  const groups: number[] = [];
  for (let i = start; i < start + 16; i += 2) {
    groups.push(((b[i] as number) << 8) | (b[i + 1] as number));
  }
  return { family: 6, text: formatV6Groups(groups) };
}

/**
 * A client's address from bytes, compared as an IP: an IPv4-mapped IPv6 address
 * (`::ffff:a.b.c.d`, which CoreDNS releases before 1.13 send for IPv4 clients of a dual-stack
 * listener) is the IPv4 address.
 */
export function clientIpFromBytes(b: Uint8Array): IpAddress | undefined {
  if (b.length === 16 && b[10] === 0xff && b[11] === 0xff) {
    let zero = true;
    for (let i = 0; i < 10 && zero; i++) zero = b[i] === 0;
    if (zero) return ipFromBytes(b, 12, 4);
  }
  return ipFromBytes(b);
}

/** /24 blocks of remembered v4 addresses (at most 256 each). */
const V4_BLOCKS_MAX = 4096;
const v4Known = new BoundedMap<number, Array<IpAddress | undefined>>(V4_BLOCKS_MAX);

/** RFC 5952 text of eight 16-bit groups. */
function formatV6Groups(groups: readonly number[]): string {
  // Longest run of zero groups (length >= 2) becomes "::".
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLen).join(":");
  return `${head}::${tail}`;
}

export function formatNetwork(net: IpNetwork): string {
  const addr = net.host ?? formatAddress(net.family, net.base);
  return net.prefix === bits(net.family) ? addr : `${addr}/${net.prefix}`;
}

/**
 * A socket's peer address as people read it: an IPv4 client of a dual-stack listener is
 * reported as `::ffff:a.b.c.d`, and is `a.b.c.d`.
 */
export function peerAddress(address: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return m?.[1] ?? address;
}
