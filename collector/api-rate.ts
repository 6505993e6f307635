import { TokenBucket } from "../src/collector/rate-limit.js";

/**
 * The collector's writes and garbage collection go through one limiter (--api-qps,
 * --api-burst), so that a burst of new destinations on a large cluster (or a first start on
 * one) reaches the API server at a bounded rate. Under it, lastSeen simply advances in larger
 * steps: a workload that is waiting is written once, with what it has by then.
 */
export class ApiRate {
  private readonly bucket: TokenBucket;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly waited: (seconds: number) => void = () => undefined,
  ) {
    this.bucket = new TokenBucket(perSecond, burst, Date.now());
  }

  /** Calls `request` once the rate allows. */
  async call<T>(request: () => Promise<T>): Promise<T> {
    const wait = this.bucket.take(Date.now());
    if (wait > 0) {
      this.waited(wait / 1000);
      await new Promise((r) => setTimeout(r, wait));
    }
    return request();
  }
}
