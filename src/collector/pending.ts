/**
 * Answers from a client IP that no known pod has yet, held until the pod informer catches up: a
 * pod's IP reaches the collector a moment after the pod can use it, and a pod that resolves at
 * start-up (a CronJob's, an init container's) would otherwise be lost. Bounded: at most
 * `maxEntries` answers (the oldest goes first when more arrive), each for at most `holdMs`
 * after it arrived; what leaves unclaimed is returned, for the caller to count as lost.
 */
export class PendingAnswers<T> {
  private readonly byIp = new Map<string, Array<{ at: number; item: T }>>();
  /** Arrival order, for expiry and eviction: [ip, arrival time]. */
  private readonly order: Array<[string, number]> = [];
  private head = 0;
  private held = 0;

  constructor(
    private readonly holdMs: number,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.held;
  }

  /** Holds `item` for `ip`; returns what had to leave to make room (counted as lost). */
  add(ip: string, item: T, now: number): T[] {
    const evicted = this.held >= this.maxEntries ? this.dropOldest(1) : [];
    let list = this.byIp.get(ip);
    if (!list) this.byIp.set(ip, (list = []));
    list.push({ at: now, item });
    this.order.push([ip, now]);
    this.held++;
    return evicted;
  }

  /** Everything held for `ip`, in arrival order; it is no longer held. */
  take(ip: string): T[] {
    const list = this.byIp.get(ip);
    if (!list) return [];
    this.byIp.delete(ip);
    this.held -= list.length;
    return list.map((e) => e.item);
  }

  /** What has been held for longer than holdMs at `now`; it is no longer held. */
  expire(now: number): T[] {
    const out: T[] = [];
    while (this.head < this.order.length) {
      const [ip, at] = this.order[this.head] as [string, number];
      if (now - at < this.holdMs) break;
      this.head++;
      out.push(...this.removeArrival(ip, at));
    }
    this.compact();
    return out;
  }

  private dropOldest(n: number): T[] {
    const out: T[] = [];
    while (out.length < n && this.head < this.order.length) {
      const [ip, at] = this.order[this.head++] as [string, number];
      out.push(...this.removeArrival(ip, at));
    }
    this.compact();
    return out;
  }

  /** Removes the entries of `ip` that arrived at `at` or earlier (already taken ones are gone). */
  private removeArrival(ip: string, at: number): T[] {
    const list = this.byIp.get(ip);
    if (!list) return [];
    let k = 0;
    while (k < list.length && (list[k] as { at: number }).at <= at) k++;
    if (k === 0) return [];
    const gone = list.splice(0, k).map((e) => e.item);
    if (list.length === 0) this.byIp.delete(ip);
    this.held -= gone.length;
    return gone;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
  }
}
