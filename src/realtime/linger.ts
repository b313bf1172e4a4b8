export interface LingerLimits {
  /** How long an item is kept after it was handed over; 0 keeps nothing. */
  ms: number;
  /** At most this many items… */
  max: number;
  /** …holding at most this many bytes together; the oldest go first. */
  maxBytes: number;
}

interface Entry<T> {
  item: T;
  until: number;
  bytes: number;
}

/**
 * Items kept for a while after their last user left, in case one comes back: bounded in
 * time, count and bytes, oldest first out. `expire` is called for every item that leaves
 * other than through `take` or `remove`. One timer for all, set for the oldest item.
 */
export class Linger<T> {
  /** In insertion order, which is expiry order: every item gets the same time. */
  private readonly entries = new Map<string, Entry<T>>();
  private totalBytes = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly limits: LingerLimits,
    private readonly expire: (item: T) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Keeps the item; false when it cannot be kept at all (lingering off, or too big alone). */
  add(key: string, item: T, bytes: number): boolean {
    const { ms, max, maxBytes } = this.limits;
    if (ms === 0 || max === 0 || bytes > maxBytes) return false;
    this.remove(key);
    this.entries.set(key, { item, until: Date.now() + ms, bytes });
    this.totalBytes += bytes;
    this.trim();
    this.arm();
    return true;
  }

  /** The item back, if still kept; it is no longer lingering. */
  take(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.remove(key);
    return entry.item;
  }

  remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }

  /** The item's size changed while kept (its state advanced). */
  resize(key: string, bytes: number): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.totalBytes += bytes - entry.bytes;
    entry.bytes = bytes;
    this.trim();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const key of [...this.entries.keys()]) this.evict(key);
  }

  private trim(): void {
    while (this.entries.size > this.limits.max || this.totalBytes > this.limits.maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.evict(oldest.value);
    }
  }

  private evict(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.remove(key);
    this.expire(entry.item);
  }

  private arm(): void {
    if (this.timer || this.entries.size === 0) return;
    const first = this.entries.values().next().value!;
    this.timer = setTimeout(() => this.sweep(), Math.max(0, first.until - Date.now()));
    this.timer.unref();
  }

  private sweep(): void {
    this.timer = undefined;
    const now = Date.now();
    for (const [key, entry] of this.entries) {
      if (entry.until > now) break;
      this.evict(key);
    }
    this.arm();
  }
}
