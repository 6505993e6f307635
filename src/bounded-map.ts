/**
 * A Map that forgets all it holds when it reaches `max` entries. The engine's caches (parsed
 * addresses, domains, timestamps, shared port lists and names) hold values that are cheap to
 * make again; the bound keeps hostile or endless input from growing them without end.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.size >= this.max) this.clear();
    return super.set(key, value);
  }
}
