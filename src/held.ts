import type { IpAddress } from "./ip.js";
import { ownCopy } from "./own-copy.js";
import type { InternetDestination, KubernetesDestination } from "./observed-egress.js";

/**
 * Destinations as they are held in memory. The webhook keeps every workload's observations of
 * a cluster (1,500,000 destinations at 50,000 workloads × 30) and the plugin reads snapshots of
 * that size, so each is one object of fixed shape: addresses as one string (parsed, cheaply,
 * when read), names shared between objects. They read as the plain interfaces they implement;
 * a test checks that decisions from them equal decisions from plain objects.
 */

/** Names that recur across objects (namespaces, kinds, DNS names), held once. */
const names = new Map<string, string>();
const MAX_NAMES = 200_000;

export function shared(text: string): string {
  const known = names.get(text);
  if (known !== undefined) return known;
  const own = ownCopy(text);
  // A bound, not a cache: past it, names are simply held apart.
  if (names.size < MAX_NAMES) names.set(own, own);
  return own;
}

/** An address whose text is already canonical (as `parseIp` made it). */
export function canonicalIp(text: string): IpAddress {
  return { family: text.includes(":") ? 6 : 4, text };
}

/** Canonical address texts joined by commas: the held form of a destination's addresses. */
export type JoinedIpTexts = string & { readonly joined: unique symbol };

/** Canonical address texts, joined as a held destination holds them (as their own copy). */
export function joinedIpTexts(texts: readonly string[]): JoinedIpTexts {
  return (texts.length === 1 ? ownCopy(texts[0] as string) : texts.join(",")) as JoinedIpTexts;
}

export class HeldInternetDestination implements InternetDestination {
  readonly kind = "internet" as const;
  readonly dnsName: string | undefined;
  /** Canonical addresses, comma-separated. */
  private readonly addresses: string;
  readonly ports: readonly number[];
  readonly lastSeen: number;
  readonly firstSeen: number | undefined;

  /**
   * `addresses`: canonical texts joined by `joinedIpTexts`. `dnsName` is held as given: a name
   * from `declaredDomain` is shared.
   */
  constructor(
    dnsName: string | undefined,
    addresses: JoinedIpTexts,
    ports: readonly number[],
    lastSeen: number,
    firstSeen: number | undefined,
  ) {
    this.dnsName = dnsName;
    this.addresses = addresses;
    this.ports = ports;
    this.lastSeen = lastSeen;
    this.firstSeen = firstSeen;
  }

  get ips(): readonly IpAddress[] {
    const a = this.addresses;
    if (a === "") return [];
    return a.includes(",") ? a.split(",").map(canonicalIp) : [canonicalIp(a)];
  }

  /** The addresses' canonical texts (no address objects made: what most checks compare). */
  get ipTexts(): readonly string[] {
    const a = this.addresses;
    if (a === "") return [];
    return a.includes(",") ? a.split(",") : [a];
  }

  /** How many addresses (none copied). */
  get ipCount(): number {
    const a = this.addresses;
    if (a === "") return 0;
    let n = 1;
    for (let at = a.indexOf(","); at >= 0; at = a.indexOf(",", at + 1)) n++;
    return n;
  }

  /** The first address's canonical text (the rest not copied). */
  get firstIpText(): string | undefined {
    const a = this.addresses;
    if (a === "") return undefined;
    const comma = a.indexOf(",");
    return comma < 0 ? a : a.slice(0, comma);
  }

  /** Whether one of the addresses is this canonical text (none copied). */
  hasIpText(ip: string): boolean {
    // The empty text is no address (and a search for it would never move on).
    if (ip === "") return false;
    const a = this.addresses;
    for (let at = a.indexOf(ip); at >= 0; at = a.indexOf(ip, at + 1)) {
      const end = at + ip.length;
      if ((at === 0 || a[at - 1] === ",") && (end === a.length || a[end] === ",")) return true;
    }
    return false;
  }

  /** Whether `test` holds for every address (in order, stopping at the first that fails). */
  everyIpText(test: (ip: string) => boolean): boolean {
    const a = this.addresses;
    if (a === "") return true;
    let from = 0;
    for (let comma = a.indexOf(","); comma >= 0; comma = a.indexOf(",", from)) {
      if (!test(a.slice(from, comma))) return false;
      from = comma + 1;
    }
    return test(from === 0 ? a : a.slice(from));
  }

  /** As a plain object (JSON, copies): what it reads as. */
  toJSON(): InternetDestination {
    return {
      kind: this.kind,
      ...(this.dnsName === undefined ? {} : { dnsName: this.dnsName }),
      ips: this.ips,
      ports: this.ports,
      lastSeen: this.lastSeen,
      ...(this.firstSeen === undefined ? {} : { firstSeen: this.firstSeen }),
    };
  }
}

export function heldKubernetesDestination(
  name: string,
  namespace: string,
  workloadKind: string | undefined,
  service: string | undefined,
  ports: readonly number[],
  lastSeen: number,
  firstSeen: number | undefined,
): KubernetesDestination {
  // One shape for all (absent fields undefined), so that they share one hidden class.
  return {
    kind: "kubernetes",
    name: shared(name),
    namespace: shared(namespace),
    workloadKind: workloadKind === undefined ? undefined : shared(workloadKind),
    service: service === undefined ? undefined : shared(service),
    ports,
    lastSeen,
    firstSeen,
  } as KubernetesDestination;
}

/** When each declared target was first declared, by itemKey: all a verdict asks of it. */
export interface DeclaredTimes {
  get(key: string): number | undefined;
  entries(): Iterable<[string, number]>;
}

/**
 * Keys and times in two sorted arrays (the times unboxed), instead of a Map's hash table: a
 * workload declares tens of targets, and a Map of twenty costs a kilobyte.
 */
class SortedTimes implements DeclaredTimes {
  constructor(
    private readonly keys: readonly string[],
    private readonly times: readonly number[],
  ) {}

  get(key: string): number | undefined {
    let lo = 0;
    let hi = this.keys.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const k = this.keys[mid] as string;
      if (k === key) return this.times[mid];
      if (k < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  *entries(): Iterable<[string, number]> {
    for (let i = 0; i < this.keys.length; i++) {
      yield [this.keys[i] as string, this.times[i] as number];
    }
  }
}

const NO_TIMES: DeclaredTimes = new SortedTimes([], []);

/**
 * Held in sorted arrays (a lookup is a binary search): each key with the earliest of its
 * times. The keys are held as given: the caller shares them (the same domains are declared by
 * many workloads).
 */
export function heldTimes(keys: readonly string[], times: readonly number[]): DeclaredTimes {
  if (keys.length === 0) return NO_TIMES;
  // By key, then by time: each key's first is its earliest. No Map: one per workload adds up.
  const order = keys.map((_, i) => i);
  order.sort((a, b) => {
    const x = keys[a] as string;
    const y = keys[b] as string;
    return x < y ? -1 : x > y ? 1 : (times[a] as number) - (times[b] as number);
  });
  const earliest = order.filter((i, n) => n === 0 || keys[order[n - 1] as number] !== keys[i]);
  // Arrays of their exact length (map's), the times unboxed (an array of doubles).
  return new SortedTimes(
    earliest.map((i) => keys[i] as string),
    earliest.map((i) => times[i] as number),
  );
}

/** An internet destination's addresses as canonical texts. */
export function ipTexts(d: InternetDestination): readonly string[] {
  return d instanceof HeldInternetDestination ? d.ipTexts : d.ips.map((ip) => ip.text);
}

/** How many addresses an internet destination has (a held one's are not copied to count). */
export function ipCount(d: InternetDestination): number {
  return d instanceof HeldInternetDestination ? d.ipCount : d.ips.length;
}

/** An internet destination's first address, as canonical text. */
export function firstIpText(d: InternetDestination): string | undefined {
  return d instanceof HeldInternetDestination ? d.firstIpText : d.ips[0]?.text;
}

/** Whether an internet destination has this address (canonical text; never the empty text). */
export function hasIpText(d: InternetDestination, ip: string): boolean {
  if (ip === "") return false;
  if (d instanceof HeldInternetDestination) return d.hasIpText(ip);
  for (const address of d.ips) if (address.text === ip) return true;
  return false;
}

/**
 * Whether `test` holds for every address of an internet destination (canonical texts, in
 * order, stopping at the first that fails): a held one's addresses are read without an array.
 */
export function everyIpText(d: InternetDestination, test: (ip: string) => boolean): boolean {
  if (d instanceof HeldInternetDestination) return d.everyIpText(test);
  for (const ip of d.ips) if (!test(ip.text)) return false;
  return true;
}

/**
 * A copy of an internet destination with some fields changed, as a plain object. Held
 * destinations read their addresses through a getter, which a spread (`{ ...d }`) does not
 * copy: copy them with this.
 */
export function internetWith(
  d: InternetDestination,
  change: Partial<Pick<InternetDestination, "ips" | "ports" | "lastSeen">>,
): InternetDestination {
  const firstSeen = d.firstSeen;
  return {
    kind: "internet",
    ...(d.dnsName === undefined ? {} : { dnsName: d.dnsName }),
    ips: change.ips ?? d.ips,
    ports: change.ports ?? d.ports,
    lastSeen: change.lastSeen ?? d.lastSeen,
    ...(firstSeen === undefined ? {} : { firstSeen }),
  };
}
