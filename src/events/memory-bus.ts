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
  /** By subject as subscribed: exact, or ending with the one-token wildcard `.*`. */
  private readonly handlers = new Map<string, Set<(payload: Uint8Array, subject: string) => void>>();

  publish(subject: string, payload: Uint8Array): void {
    const parent = subject.lastIndexOf('.');
    this.deliver(this.handlers.get(subject), subject, payload);
    if (parent !== -1) this.deliver(this.handlers.get(`${subject.slice(0, parent)}.*`), subject, payload);
  }

  async subscribe(subject: string, onMessage: (payload: Uint8Array, subject: string) => void): Promise<BusSubscription> {
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

  private deliver(handlers: Set<(payload: Uint8Array, subject: string) => void> | undefined, subject: string, payload: Uint8Array): void {
    for (const handler of handlers ?? []) {
      try {
        handler(payload, subject);
      } catch (err) {
        this.log.error({ err }, `subscriber of ${subject} failed`);
      }
    }
  }

  onResync(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
