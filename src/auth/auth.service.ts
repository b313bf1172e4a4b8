import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { SESSION_BUS, type SessionBus } from '../events/session-bus.js';
import { UsersRepository } from '../users/users.repository.js';
import { apiKeyMatches, apiKeyPrefix, hashApiKey } from './api-key.js';
import { extractCredential } from './credentials.js';
import { KeyRevocations } from './key-revocations.js';
import { originAllowed } from './origin-policy.js';
import type { Principal } from './principal.js';

const CACHE_MAX = 10_000;

/** The verdict on a request's credentials, in the protocol's order: the key first, then the origin. */
export type AuthVerdict = { status: 'ok'; principal: Principal } | { status: 'invalid' } | { status: 'origin' };

/**
 * Resolves a request's API key to its user. Successful lookups are cached for
 * AUTH_CACHE_TTL_MS (keyed by the key's hash), and concurrent lookups of one key share a
 * single query, so a reconnect storm of thousands of sockets costs one key lookup per key
 * rather than one per socket. A revocation (KeyRevocations) drops the key from the cache at
 * once; so does a bus reconnect, for the revocations this process may have missed meanwhile.
 */
@Injectable()
export class AuthService implements OnModuleDestroy {
  private readonly cache = new Map<string, { principal: Principal; expires: number }>();
  private readonly inflight = new Map<string, Promise<Principal | null>>();
  /** Keys revoked lately: a lookup that read the row before the revocation must not cache it. */
  private readonly revoked = new Map<string, number>();
  private readonly stop: (() => void)[] = [];

  constructor(
    private readonly users: UsersRepository,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'authCacheTtlMs' | 'allowedOrigins'>,
    revocations?: KeyRevocations,
    @Inject(SESSION_BUS) bus?: SessionBus,
  ) {
    if (revocations) this.stop.push(revocations.onRevoked((keyId) => this.forget(keyId)));
    if (bus) this.stop.push(bus.onResync(() => this.cache.clear()));
  }

  onModuleDestroy(): void {
    for (const stop of this.stop) stop();
  }

  /** The principal, or null for a missing or invalid key. Lookup failures reject. */
  async authenticate(headers: IncomingHttpHeaders, url: string | undefined): Promise<Principal | null> {
    const verdict = await this.check(headers, url);
    return verdict.status === 'ok' ? verdict.principal : null;
  }

  /**
   * The key, then (for the cookie only, an ambient credential) the origin: a cookie request
   * from a page of another site must not act for the user whose browser it runs in.
   */
  async check(headers: IncomingHttpHeaders, url: string | undefined): Promise<AuthVerdict> {
    const credential = extractCredential(headers, url);
    if (credential.kind !== 'key') return { status: 'invalid' };
    const principal = await this.principalForKey(credential.key);
    if (!principal) return { status: 'invalid' };
    if (credential.source === 'cookie' && !originAllowed(headers, this.config.allowedOrigins)) return { status: 'origin' };
    return { status: 'ok', principal };
  }

  async userForKey(key: string): Promise<string | null> {
    return (await this.principalForKey(key))?.userId ?? null;
  }

  async principalForKey(key: string): Promise<Principal | null> {
    const prefix = apiKeyPrefix(key);
    if (!prefix) return null;
    const cacheKey = hashApiKey(key).toString('base64');
    const cached = this.cache.get(cacheKey);
    if (cached && cached.expires > Date.now()) return cached.principal;
    let lookup = this.inflight.get(cacheKey);
    if (!lookup) {
      lookup = this.lookup(key, prefix, cacheKey).finally(() => this.inflight.delete(cacheKey));
      this.inflight.set(cacheKey, lookup);
    }
    return lookup;
  }

  /** Drops a revoked key from the cache. */
  forget(keyId: string): void {
    const now = Date.now();
    for (const [id, until] of this.revoked) if (until < now) this.revoked.delete(id);
    this.revoked.set(keyId, now + Math.max(this.config.authCacheTtlMs, 60_000));
    for (const [cacheKey, entry] of this.cache) if (entry.principal.keyId === keyId) this.cache.delete(cacheKey);
  }

  private async lookup(key: string, prefix: string, cacheKey: string): Promise<Principal | null> {
    const row = await this.users.findKeyByPrefix(prefix);
    if (!row || !apiKeyMatches(key, row.keyHash)) return null;
    // The row may have been read just before a revocation that has been announced since.
    if (this.revoked.has(row.keyId)) return null;
    const principal: Principal = { userId: row.userId, keyId: row.keyId, isAdmin: row.isAdmin };
    this.remember(cacheKey, principal);
    return principal;
  }

  private remember(cacheKey: string, principal: Principal): void {
    if (this.config.authCacheTtlMs === 0) return;
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(cacheKey, { principal, expires: Date.now() + this.config.authCacheTtlMs });
  }
}
