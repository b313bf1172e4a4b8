import { Inject, Injectable } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { UsersRepository } from '../users/users.repository.js';
import { apiKeyMatches, apiKeyPrefix, hashApiKey } from './api-key.js';
import { extractCredential } from './credentials.js';

const CACHE_MAX = 10_000;

/**
 * Resolves a request's API key to its user. Successful lookups are cached for
 * AUTH_CACHE_TTL_MS (keyed by the key's hash), and concurrent lookups of one key share a
 * single query, so a reconnect storm of thousands of sockets costs one key lookup per key
 * rather than one per socket.
 */
@Injectable()
export class AuthService {
  private readonly cache = new Map<string, { userId: string; expires: number }>();
  private readonly inflight = new Map<string, Promise<string | null>>();

  constructor(
    private readonly users: UsersRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The user id, or null for a missing or invalid key. Lookup failures reject. */
  async authenticate(headers: IncomingHttpHeaders, url: string | undefined): Promise<string | null> {
    const credential = extractCredential(headers, url);
    return credential.kind === 'key' ? this.userForKey(credential.key) : null;
  }

  async userForKey(key: string): Promise<string | null> {
    const prefix = apiKeyPrefix(key);
    if (!prefix) return null;
    const cacheKey = hashApiKey(key).toString('base64');
    const cached = this.cache.get(cacheKey);
    if (cached && cached.expires > Date.now()) return cached.userId;
    let lookup = this.inflight.get(cacheKey);
    if (!lookup) {
      lookup = this.lookup(key, prefix, cacheKey).finally(() => this.inflight.delete(cacheKey));
      this.inflight.set(cacheKey, lookup);
    }
    return lookup;
  }

  private async lookup(key: string, prefix: string, cacheKey: string): Promise<string | null> {
    const row = await this.users.findKeyByPrefix(prefix);
    if (!row || !apiKeyMatches(key, row.keyHash)) return null;
    this.remember(cacheKey, row.userId);
    return row.userId;
  }

  private remember(cacheKey: string, userId: string): void {
    if (this.config.authCacheTtlMs === 0) return;
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(cacheKey, { userId, expires: Date.now() + this.config.authCacheTtlMs });
  }
}
