/** The lists one after another (Array.prototype.flat and flatMap are slow in V8). */
export function concatAll<T>(lists: ReadonlyArray<readonly T[]>): readonly T[] {
  if (lists.length === 1) return lists[0] as readonly T[];
  const out: T[] = [];
  for (const list of lists) for (const x of list) out.push(x);
  return out;
}
