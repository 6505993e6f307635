/**
 * How fast the collector may call the API server: a token bucket, `perSecond` requests a
 * second on average and `burst` at once, as client-go's QPS and Burst. A request that finds the
 * bucket empty takes a token ahead and waits until it would have been there, so requests go
 * out in the order they asked, at the rate, whatever their number.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Takes a token at `now`; how many ms to wait before the request may go (0: at once). */
  take(now: number): number {
    if (now > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
      this.at = now;
    }
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.perSecond) * 1000);
  }
}
