/**
 * The pub/sub port that carries session change events between processes. NATS implements
 * it for replicas (NatsBus); the in-process MemoryBus implements it for a single instance.
 *
 * Guarantees, and the lack of them, that every consumer must design for:
 * - At most once. A message is delivered to the subscriptions that the bus server knows at
 *   the moment it is published, or to none. Nothing is stored or replayed: a message
 *   published while a subscriber (or the publisher) is disconnected is lost for good.
 * - Per-subject order from one publisher connection: two messages one process publishes on
 *   one subject arrive in publish order. Messages from different processes (or published
 *   out of commit order by concurrent requests in one process) may interleave in any order,
 *   which is why every event carries the session `version`.
 * - `subscribe()` resolves once the bus server has registered the subscription (NATS:
 *   after a flush round trip), so a message published after it resolves is delivered.
 *   If the bus is disconnected at that moment it resolves anyway; the resync below covers it.
 * - Resync: after the connection to the bus server was lost and is back, the listeners of
 *   `onResync` are called once the subscriptions are active again. Anything published in
 *   between may be missing, so a consumer must re-read the state it derives from messages.
 */
export interface SessionBus {
  readonly kind: 'nats' | 'memory';
  /** True while messages can flow. */
  readonly connected: boolean;
  /** Fire and forget; never throws. Delivery is at most once. */
  publish(subject: string, payload: Uint8Array): void;
  /**
   * `subject` may end with the one-token wildcard `.*` (`a.b.*` matches `a.b.c`, not `a.b.c.d`);
   * `onMessage` gets each message's own subject.
   */
  subscribe(subject: string, onMessage: (payload: Uint8Array, subject: string) => void): Promise<BusSubscription>;
  /** Registers a listener called after a reconnect; returns its removal. */
  onResync(listener: () => void): () => void;
  /** Delivers what is in flight, then closes. */
  close(): Promise<void>;
}

export interface BusSubscription {
  unsubscribe(): void;
}

/** Injection token of the SessionBus. */
export const SESSION_BUS = Symbol('SESSION_BUS');
