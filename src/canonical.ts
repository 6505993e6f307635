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
