/**
 * Token buckets keyed by a string (an API key id, or a client address): each holds up to
 * `burst` tokens and refills at `perSecond`. One request takes one token; an empty bucket
 * answers how long until the next token. It is a Map lookup and some arithmetic per request,
 * cheap enough for an agent streaming thousands of appends per second on one key.
 *
 * Buckets that have refilled completely carry no information: they are swept once the map
 * grows past `maxKeys`, so a flood of distinct addresses cannot grow it without bound.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
    private readonly maxKeys = 100_000,
  ) {}

  /** 0 when the request may go ahead (a token was taken), else the seconds to wait (≥ 1). */
  take(key: string): number {
    if (this.perSecond === 0) return 0;
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.sweep(now);
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
  }

  /** Whether `key` has a token left, without taking one. */
  exhausted(key: string): number {
    const bucket = this.buckets.get(key);
    if (!bucket || this.perSecond === 0) return 0;
    const tokens = Math.min(this.burst, bucket.tokens + ((this.now() - bucket.at) / 1000) * this.perSecond);
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.perSecond));
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(key);
    }
    // Most are mid-burst: forget the oldest tenth rather than grow (or sweep on every insert).
    if (this.buckets.size >= this.maxKeys) {
      let drop = Math.max(1, Math.floor(this.maxKeys / 10));
      for (const key of this.buckets.keys()) {
        if (drop-- === 0) break;
        this.buckets.delete(key);
      }
    }
  }
}
