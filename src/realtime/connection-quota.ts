/**
 * Open WebSocket connections per API key in this process, capped at WS_MAX_CONNECTIONS_PER_KEY
 * so that one key (a runaway client, a leaked key) cannot take every socket and file
 * descriptor of a replica from everyone else. Per process, not cluster-wide: behind a load
 * balancer with N replicas a key may hold up to N times the cap. 0 means no cap.
 */
export class ConnectionQuota {
  private readonly held = new Map<string, number>();

  constructor(readonly limit: number) {}

  /** Takes a slot for `key`; false when the key is at the cap. */
  take(key: string): boolean {
    const count = this.held.get(key) ?? 0;
    if (this.limit > 0 && count >= this.limit) return false;
    this.held.set(key, count + 1);
    return true;
  }

  release(key: string): void {
    const count = this.held.get(key) ?? 0;
    if (count <= 1) this.held.delete(key);
    else this.held.set(key, count - 1);
  }

  /** Keys holding at least one slot (a leak shows here). */
  get keys(): number {
    return this.held.size;
  }
}
