/**
 * Port lists are few and repeated ([443], [80, 443]) across the many destinations and targets
 * the webhook keeps in memory: equal lists are shared, as the read-only values they are.
 */

const MAX_SHARED = 4096;
const shared = new Map<string, readonly number[]>();

export function sharedPorts(ports: readonly number[]): readonly number[] {
  if (ports.length > 8) return ports;
  const key = ports.join(",");
  const known = shared.get(key);
  if (known) return known;
  if (shared.size >= MAX_SHARED) shared.clear();
  const copy = Object.freeze([...ports]);
  shared.set(key, copy);
  return copy;
}
