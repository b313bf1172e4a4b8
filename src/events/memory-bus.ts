import { Logger } from '@nestjs/common';
import type { BusSubscription, SessionBus } from './session-bus.js';

/**
 * The in-process bus for a single instance (NATS_URL unset). Delivery is synchronous and
 * in publish order; it never disconnects, so it never asks for a resync.
 */
export class MemoryBus implements SessionBus {
  readonly kind = 'memory' as const;
  readonly connected = true;
  private readonly log = new Logger('MemoryBus');
  private readonly handlers = new Map<string, Set<(payload: Uint8Array) => void>>();

  publish(subject: string, payload: Uint8Array): void {
    for (const handler of this.handlers.get(subject) ?? []) {
      try {
        handler(payload);
      } catch (err) {
        this.log.error({ err }, `subscriber of ${subject} failed`);
      }
    }
  }

  async subscribe(subject: string, onMessage: (payload: Uint8Array) => void): Promise<BusSubscription> {
    let set = this.handlers.get(subject);
    if (!set) this.handlers.set(subject, (set = new Set()));
    set.add(onMessage);
    return {
      unsubscribe: () => {
        set.delete(onMessage);
        if (set.size === 0 && this.handlers.get(subject) === set) this.handlers.delete(subject);
      },
    };
  }

  onResync(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
