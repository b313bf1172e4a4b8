import { Logger } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { withTimeout } from '../common/with-timeout.js';
import type { BusSubscription, SessionBus } from './session-bus.js';

export class NatsUnavailableError extends Error {}

/** How long `subscribe()` waits for the server to confirm before relying on a later resync. */
const FLUSH_TIMEOUT_MS = 2000;

/**
 * NATS implementation of the SessionBus (the "NatsBridge"). Plain subscriptions, never
 * queue groups: every replica must see every change of the sessions its clients follow.
 * It reconnects forever; each reconnect is announced to the resync listeners, because core
 * NATS dropped whatever was published while this connection was away.
 */
export class NatsBus implements SessionBus {
  readonly kind = 'nats' as const;
  private readonly log = new Logger('NatsBus');
  private readonly resyncListeners = new Set<() => void>();
  private isConnected = true;
  private closing = false;

  private constructor(private readonly nc: NatsConnection) {
    void this.watchStatus();
  }

  static async connect(servers: string[], name: string): Promise<NatsBus> {
    const nc = await connect({
      servers,
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 250,
      // Detects a dead server in seconds rather than minutes.
      pingInterval: 5000,
      maxPingOut: 2,
      timeout: 5000,
    }).catch((error: unknown) => {
      throw new NatsUnavailableError(`NATS_URL: cannot connect to ${servers.join(', ')} (${(error as Error).message}); start NATS or unset NATS_URL for a single instance`);
    });
    return new NatsBus(nc);
  }

  get connected(): boolean {
    return this.isConnected && !this.nc.isClosed();
  }

  /**
   * Queued until the event loop has handled every I/O event already waiting, then handed to
   * the client together. The client writes to its socket once per microtask turn, and each
   * commit arrives in a turn of its own, so publishing at once costs one socket write per
   * change; at a few thousand changes a second those writes were the largest cost of a write
   * request. Deferring by one loop turn keeps publish order and adds no timer.
   */
  publish(subject: string, payload: Uint8Array): void {
    this.outgoing.push({ subject, payload });
    if (this.outgoing.length === 1) setImmediate(this.publishOutgoing);
  }

  private readonly outgoing: { subject: string; payload: Uint8Array }[] = [];

  private readonly publishOutgoing = (): void => {
    for (const { subject, payload } of this.outgoing.splice(0)) {
      try {
        this.nc.publish(subject, payload);
      } catch (err) {
        this.log.warn({ err, subject }, 'publish failed; subscribers will catch up by version check');
      }
    }
  };

  async subscribe(subject: string, onMessage: (payload: Uint8Array, subject: string) => void): Promise<BusSubscription> {
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) this.log.warn({ err, subject }, 'subscription error');
        else onMessage(msg.data, msg.subject);
      },
    });
    if (this.connected) {
      // Only after this round trip does the server route messages to the subscription.
      await withTimeout(this.nc.flush(), FLUSH_TIMEOUT_MS).catch((err) =>
        this.log.warn({ err, subject }, 'subscription not confirmed; relying on resync'),
      );
    }
    return { unsubscribe: () => sub.unsubscribe() };
  }

  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.publishOutgoing();
    if (!this.nc.isClosed()) await withTimeout(this.nc.drain(), 3000).catch(() => this.nc.close());
  }

  private async watchStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect') {
        this.isConnected = false;
        if (!this.closing) this.log.warn(`disconnected from ${status.server}`);
      } else if (status.type === 'reconnect') {
        this.isConnected = true;
        this.log.log(`reconnected to ${status.server}; re-snapshotting live sessions`);
        // The client re-sent its subscriptions on reconnect; the flush makes sure the server
        // has them before anyone re-reads state, or a change could slip between the two.
        await withTimeout(this.nc.flush(), FLUSH_TIMEOUT_MS).catch(() => undefined);
        for (const listener of this.resyncListeners) listener();
      }
    }
  }
}
