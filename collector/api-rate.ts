import { TokenBucket } from "../src/collector/rate-limit.js";

/**
 * The collector's writes and garbage collection go through one limiter (--api-qps,
 * --api-burst), so that a burst of new destinations on a large cluster (or a first start on
 * one) reaches the API server at a bounded rate. Under it, lastSeen simply advances in larger
 * steps: a workload that is waiting is written once, with what it has by then.
 */
export class ApiRate {
  private readonly bucket: TokenBucket;
  /** Set for the last flush on shutdown: the pod's grace period is shorter than the queue. */
  private unlimited = false;
  /** Requests waiting for their turn, released at once by `unlimit`. */
  private readonly waiting = new Set<() => void>();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly waited: (seconds: number) => void = () => undefined,
  ) {
    // A monotonic clock: a wall clock stepped back would stop the bucket refilling.
    this.bucket = new TokenBucket(perSecond, burst, performance.now());
  }

  /** Calls `request` once the rate allows. */
  async call<T>(request: () => Promise<T>): Promise<T> {
    const wait = this.unlimited ? 0 : this.bucket.take(performance.now());
    if (wait > 0) {
      this.waited(wait / 1000);
      await new Promise<void>((resolve) => {
        const go = () => {
          clearTimeout(timer);
          this.waiting.delete(go);
          resolve();
        };
        const timer = setTimeout(go, wait);
        this.waiting.add(go);
      });
    }
    return request();
  }

  /**
   * No limit from now on, and whatever waits goes now: the last flush on SIGTERM must finish
   * within the pod's grace period, whatever the queue.
   */
  unlimit(): void {
    this.unlimited = true;
    for (const go of [...this.waiting]) go();
  }
}
