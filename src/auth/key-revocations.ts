import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { SESSION_BUS, type BusSubscription, type SessionBus } from '../events/session-bus.js';

/** Bus subject of key revocations; apart from the session subjects (`session-updates.…`). */
export const REVOCATION_SUBJECT = 'auth.revoked';

/** The bus message announcing that a key was revoked; the CLI publishes the same bytes. */
export function revocationMessage(keyId: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ key_id: keyId }));
}

/**
 * Tells every replica that a key was revoked, so that each drops it from its auth cache and
 * closes the sockets it opened (4401) at once instead of after AUTH_CACHE_TTL_MS.
 *
 * The revoking process applies the revocation to itself before publishing, so the single
 * instance needs no bus round trip and a bus outage cannot spare its own sockets. The bus is
 * at most once: a replica that was disconnected when the message went out misses it. It still
 * refuses the key once its cache entry expires (the database says revoked), and it drops its
 * whole cache when the bus comes back (AuthService), so a missed message costs at most the TTL.
 */
@Injectable()
export class KeyRevocations implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('KeyRevocations');
  private readonly listeners = new Set<(keyId: string) => void>();
  private readonly decoder = new TextDecoder();
  private subscription?: BusSubscription;

  constructor(@Inject(SESSION_BUS) private readonly bus: SessionBus) {}

  async onModuleInit(): Promise<void> {
    this.subscription = await this.bus.subscribe(REVOCATION_SUBJECT, (payload) => this.receive(payload));
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }

  /** Call after the revocation committed. */
  announce(keyId: string): void {
    this.apply(keyId);
    this.bus.publish(REVOCATION_SUBJECT, revocationMessage(keyId));
  }

  /** Registers a listener of revoked key ids (each may hear an id twice); returns its removal. */
  onRevoked(listener: (keyId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private receive(payload: Uint8Array): void {
    let keyId: unknown;
    try {
      keyId = (JSON.parse(this.decoder.decode(payload)) as { key_id?: unknown }).key_id;
    } catch {
      keyId = undefined;
    }
    if (typeof keyId !== 'string') return this.log.warn('dropped a malformed revocation message');
    this.apply(keyId);
  }

  private apply(keyId: string): void {
    for (const listener of this.listeners) {
      try {
        listener(keyId);
      } catch (err) {
        this.log.error({ err }, 'a revocation listener failed');
      }
    }
  }
}
