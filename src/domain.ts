import { BoundedMap } from "./bounded-map.js";
import { domainToASCII } from "node:url";
import { UsageError } from "./errors.js";
import { shared } from "./held.js";
import { ownCopy } from "./own-copy.js";

/**
 * Domain names as ClientIntents declare them and as DNS observes them.
 * Comparison is case-insensitive and ignores one trailing dot.
 */

export function normalizeDomain(name: string): string {
  let lower = name.toLowerCase();
  if (lower.endsWith(".")) lower = lower.slice(0, -1);
  // Unicode names are compared in their ASCII (punycode) form, as DNS carries them.
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(lower)) {
    const wildcard = lower.startsWith("*.");
    const ascii = domainToASCII(wildcard ? lower.slice(2) : lower);
    if (ascii !== "") lower = wildcard ? `*.${ascii}` : ascii;
  }
  return lower;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Why a declared domain is invalid, or undefined when it is valid: an IDNA-valid
 * host name, optionally behind a leading "*." wildcard.
 */
export function domainProblem(raw: string): string | undefined {
  return declaredDomain(raw).problem;
}

/** A declared domain: why it is invalid, or its normalised form. */
export type DeclaredDomain =
  { readonly problem: string } | { readonly problem?: undefined; readonly domain: string };

/**
 * domainProblem and normalizeDomain in one, remembered: the same few names are checked over
 * and over (every admission review, every file). The name is held once (`shared`).
 */
export function declaredDomain(raw: string): DeclaredDomain {
  let d = known.get(raw);
  if (d === undefined) {
    const problem = findDomainProblem(raw);
    // The name is held by what reads it (destinations, targets): once, and as its own copy.
    d = problem === undefined ? { domain: shared(normalizeDomain(raw)) } : { problem };
    // A spelling that is its normalised form (the usual) is held as the shared name.
    known.set(d.problem === undefined && d.domain === raw ? d.domain : ownCopy(raw), d);
  }
  return d;
}

const KNOWN_MAX = 50_000;
const known = new BoundedMap<string, DeclaredDomain>(KNOWN_MAX);

function findDomainProblem(raw: string): string | undefined {
  let name = raw;
  if (name.startsWith("*.")) name = name.slice(2);
  if (name.includes("*"))
    return `"${raw}" is not a valid domain: a wildcard may only be a leading "*."`;
  if (name.endsWith(".")) name = name.slice(0, -1);
  if (name === "") return `"${raw}" is not a valid domain: it is empty`;
  // Only letters, digits, hyphens and dots in ASCII; other scripts go through IDNA.
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x2c\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]/.test(name)) {
    return `"${raw}" is not a valid DNS name`;
  }
  // ASCII names are checked label by label (as Go's idna.Lookup does); only names in
  // other scripts go through IDNA, which is where domainToASCII's URL rules apply.
  // eslint-disable-next-line no-control-regex
  const ascii = /^[\x00-\x7f]*$/.test(name) ? name.toLowerCase() : domainToASCII(name);
  if (ascii === "" || ascii.length > 253) return `"${raw}" is not a valid DNS name`;
  for (const label of ascii.split(".")) {
    if (!LABEL.test(label)) return `"${raw}" is not a valid DNS name (label "${label}")`;
  }
  return undefined;
}

export function isWildcard(domain: string): boolean {
  return domain.startsWith("*.");
}

/** What a wildcard covers the names ending in: "*.example.com" → ".example.com". */
export function wildcardSuffix(wildcard: string): string {
  return wildcard.slice(1);
}

/**
 * Whether a name is below a wildcard's suffix. "*.example.com" covers any name below
 * example.com at any depth, never example.com itself nor a look-alike such as
 * "badexample.com" or "example.com.attacker.net".
 */
export function belowSuffix(name: string, suffix: string): boolean {
  return name.length > suffix.length && name.endsWith(suffix);
}

/** Whether a declared domain covers an observed name. Both must already be normalised. */
export function domainCovers(declared: string, observed: string): boolean {
  if (!isWildcard(declared)) return declared === observed;
  return belowSuffix(observed, wildcardSuffix(declared));
}

/**
 * The cluster's DNS zones, from `--cluster-domain` values (repeated, or comma-separated):
 * normalised, without duplicates. A value that is not a domain (or is a wildcard) is a usage
 * error.
 */
export function parseClusterZones(values: readonly string[]): string[] {
  const zones: string[] = [];
  for (const raw of values.flatMap((v) => v.split(",")).map((v) => v.trim())) {
    const d = declaredDomain(raw);
    if (d.problem !== undefined || d.domain.startsWith("*.")) {
      throw new UsageError(`--cluster-domain: "${raw}" is not a DNS zone`);
    }
    if (!zones.includes(d.domain)) zones.push(d.domain);
  }
  return zones;
}
