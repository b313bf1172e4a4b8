import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { SESSION_BUS, type SessionBus } from '../events/session-bus.js';
import { UsersRepository } from '../users/users.repository.js';
import { apiKeyMatches, apiKeyPrefix } from './api-key.js';
import { extractCredential, type Credential } from './credentials.js';
import { KeyRevocations } from './key-revocations.js';
import { originAllowed } from './origin-policy.js';
import type { Principal } from './principal.js';

const CACHE_MAX = 10_000;

/** The verdict on a request's credentials, in the protocol's order: the key first, then the origin. */
export type AuthVerdict = { status: 'ok'; principal: Principal } | { status: 'invalid' } | { status: 'origin' };

const INVALID: AuthVerdict = Object.freeze({ status: 'invalid' });
const ORIGIN: AuthVerdict = Object.freeze({ status: 'origin' });

/**
 * Resolves a request's API key to its user. Successful lookups are cached for
 * AUTH_CACHE_TTL_MS, and concurrent lookups of one key share a single query, so a reconnect
 * storm of thousands of sockets costs one key lookup per key rather than one per socket. A
 * revocation (KeyRevocations) drops the key from the cache at once; so does a bus reconnect,
 * for the revocations this process may have missed meanwhile.
 *
 * The cache is keyed by the presented key itself, not by its hash: an agent streaming
 * thousands of appends a second on one key pays a Map lookup per request, and SHA-256 only on
 * a miss (the lookup, which compares the stored hash in constant time). Only keys that
 * matched their stored hash are ever cached, so a guess can at best find a bucket of V8's
 * string hash table, which tells nothing about any key's secret.
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
    if (credential.kind !== 'key') return INVALID;
    return this.judge(credential, headers, (await this.principalForKey(credential.key)) ?? undefined);
  }

  /**
   * check()'s verdict when it needs no lookup (a cached key, or no key at all), else
   * undefined: the REST guard then answers without waiting for a promise.
   */
  checkCached(headers: IncomingHttpHeaders, url: string | undefined): AuthVerdict | undefined {
    const credential = extractCredential(headers, url);
    if (credential.kind !== 'key') return INVALID;
    const principal = this.cachedPrincipal(credential.key);
    return principal ? this.judge(credential, headers, principal) : undefined;
  }

  async userForKey(key: string): Promise<string | null> {
    return (await this.principalForKey(key))?.userId ?? null;
  }

  principalForKey(key: string): Promise<Principal | null> {
    const cached = this.cachedPrincipal(key);
    if (cached) return Promise.resolve(cached);
    let lookup = this.inflight.get(key);
    if (!lookup) {
      const prefix = apiKeyPrefix(key);
      if (!prefix) return Promise.resolve(null);
      lookup = this.lookup(key, prefix).finally(() => this.inflight.delete(key));
      this.inflight.set(key, lookup);
    }
    return lookup;
  }

  /** Drops a revoked key from the cache. */
  forget(keyId: string): void {
    const now = Date.now();
    for (const [id, until] of this.revoked) if (until < now) this.revoked.delete(id);
    this.revoked.set(keyId, now + Math.max(this.config.authCacheTtlMs, 60_000));
    for (const [key, entry] of this.cache) if (entry.principal.keyId === keyId) this.cache.delete(key);
  }

  private cachedPrincipal(key: string): Principal | undefined {
    const cached = this.cache.get(key);
    return cached && cached.expires > Date.now() ? cached.principal : undefined;
  }

  /** The key is valid (principal) or not; then, for the cookie only, the origin. */
  private judge(credential: Credential & { kind: 'key' }, headers: IncomingHttpHeaders, principal: Principal | undefined): AuthVerdict {
    if (!principal) return INVALID;
    if (credential.source === 'cookie' && !originAllowed(headers, this.config.allowedOrigins)) return ORIGIN;
    return { status: 'ok', principal };
  }

  private async lookup(key: string, prefix: string): Promise<Principal | null> {
    const row = await this.users.findKeyByPrefix(prefix);
    if (!row || !apiKeyMatches(key, row.keyHash)) return null;
    // The row may have been read just before a revocation that has been announced since.
    if (this.revoked.has(row.keyId)) return null;
    const principal: Principal = { userId: row.userId, keyId: row.keyId, isAdmin: row.isAdmin };
    this.remember(key, principal);
    return principal;
  }

  private remember(key: string, principal: Principal): void {
    if (this.config.authCacheTtlMs === 0) return;
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { principal, expires: Date.now() + this.config.authCacheTtlMs });
  }
}
