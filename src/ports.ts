import { BoundedMap } from "./bounded-map.js";
/**
 * Port lists are few and repeated ([443], [80, 443]) across the many destinations and targets
 * the webhook keeps in memory: equal lists are shared, as the read-only values they are.
 */

const MAX_SHARED = 4096;
const shared = new BoundedMap<string, readonly number[]>(MAX_SHARED);
const NONE: readonly number[] = Object.freeze([]);
/** Single-port lists by port (the common case), without building a key. */
const single: Array<readonly number[] | undefined> = [];

export function sharedPorts(ports: readonly number[]): readonly number[] {
  if (ports.length === 0) return NONE;
  if (ports.length === 1) {
    const port = ports[0] as number;
    return (single[port] ??= Object.freeze([port]));
  }
  if (ports.length > 8) return ports;
  const key = ports.join(",");
  const known = shared.get(key);
  if (known) return known;
  const copy = Object.freeze([...ports]);
  shared.set(key, copy);
  return copy;
}
