import { asObject } from "./shape.js";

/**
 * Values compared by content: JSON with object keys sorted (and undefined members left out),
 * so equal values give equal texts whatever their keys' order (the API server sorts them).
 */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  const o = asObject(v);
  if (!o) return JSON.stringify(v) ?? "null";
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(",")}}`;
}

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/**
 * `canonical(a) === canonical(b)`, walked instead of written: the webhook compares a pod
 * template with its stored one on every update, and writing two texts of a few kilobytes cost
 * about 100 µs a review, where the walk stops at the first difference and makes nothing.
 */
export function sameContent(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameContent(a[i], b[i])) return false;
    return true;
  }
  const x = asObject(a);
  if (x) {
    const y = asObject(b);
    if (!y) return false;
    let members = 0;
    for (const k of Object.keys(x)) {
      const v = x[k];
      if (v === undefined) continue;
      members++;
      const w = hasOwn(y, k) ? y[k] : undefined;
      if (w === undefined || !sameContent(v, w)) return false;
    }
    // Every defined member of x is in y: the same content when y has no more.
    for (const k of Object.keys(y)) if (y[k] !== undefined) members--;
    return members === 0;
  }
  if (a === b) return true;
  if (b !== null && typeof b === "object") return false;
  // Values JSON writes alike: NaN, undefined and null are all `null`; -0 is 0.
  return (JSON.stringify(a) ?? "null") === (JSON.stringify(b) ?? "null");
}
