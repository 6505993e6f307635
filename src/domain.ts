import { domainToASCII } from "node:url";

/**
 * Domain names as ClientIntents declare them and as DNS observes them.
 * Comparison is case-insensitive and ignores one trailing dot.
 */

export function normalizeDomain(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Why a declared domain is invalid, or undefined when it is valid: an IDNA-valid
 * host name, optionally behind a leading "*." wildcard.
 */
export function domainProblem(raw: string): string | undefined {
  let name = raw;
  if (name.startsWith("*.")) name = name.slice(2);
  if (name.includes("*"))
    return `"${raw}" is not a valid domain: a wildcard may only be a leading "*."`;
  if (name.endsWith(".")) name = name.slice(0, -1);
  if (name === "") return `"${raw}" is not a valid domain: it is empty`;
  const ascii = domainToASCII(name);
  if (ascii === "" || ascii.length > 253) return `"${raw}" is not a valid DNS name`;
  for (const label of ascii.split(".")) {
    if (!LABEL.test(label)) return `"${raw}" is not a valid DNS name (label "${label}")`;
  }
  return undefined;
}

export function isWildcard(domain: string): boolean {
  return domain.startsWith("*.");
}

/**
 * Whether a declared domain covers an observed name. Both must already be normalised.
 * "*.example.com" covers any name below example.com at any depth, never example.com
 * itself nor a look-alike such as "badexample.com" or "example.com.attacker.net".
 */
export function domainCovers(declared: string, observed: string): boolean {
  if (!isWildcard(declared)) return declared === observed;
  const suffix = declared.slice(1); // ".example.com"
  return observed.length > suffix.length && observed.endsWith(suffix);
}
