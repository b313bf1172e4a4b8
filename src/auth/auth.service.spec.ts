import { describe, expect, it } from '@jest/globals';
import type { AppConfig } from '../config/app-config.js';
import type { UsersRepository } from '../users/users.repository.js';
import { generateApiKey } from './api-key.js';
import { AuthService } from './auth.service.js';

function setup(ttl = 30_000) {
  const { key, hash } = generateApiKey();
  let lookups = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const users = {
    findKeyByPrefix: async () => {
      lookups++;
      await gate;
      return { userId: 'user-1', keyHash: hash };
    },
  } as unknown as UsersRepository;
  const auth = new AuthService(users, { authCacheTtlMs: ttl } as AppConfig);
  return { auth, key, release, lookups: () => lookups };
}

describe('AuthService', () => {
  it('shares one lookup among concurrent requests with the same key, then serves it from the cache', async () => {
    const { auth, key, release, lookups } = setup();
    const pending = Array.from({ length: 100 }, () => auth.userForKey(key));
    release();
    expect(await Promise.all(pending)).toEqual(Array(100).fill('user-1'));
    expect(await auth.userForKey(key)).toBe('user-1');
    expect(lookups()).toBe(1);
  });

  it('refuses a key whose hash does not match, without caching it', async () => {
    const { auth, key, release, lookups } = setup();
    release();
    const forged = key.slice(0, -2) + (key.endsWith('AA') ? 'BB' : 'AA');
    expect(await auth.userForKey(forged)).toBeNull();
    expect(await auth.userForKey(forged)).toBeNull();
    expect(lookups()).toBe(2);
  });

  it('looks up every time when the cache is off', async () => {
    const { auth, key, release, lookups } = setup(0);
    release();
    await auth.userForKey(key);
    await auth.userForKey(key);
    expect(lookups()).toBe(2);
  });

  it('judges a cached key without a lookup, and never a key that differs from it by a character', async () => {
    const { auth, key, release, lookups } = setup();
    release();
    expect(await auth.userForKey(key)).toBe('user-1');
    const forged = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    expect(auth.checkCached({ authorization: `Bearer ${forged}` }, '/')).toBeUndefined();
    expect(await auth.check({ authorization: `Bearer ${forged}` }, '/')).toEqual({ status: 'invalid' });
    expect(auth.checkCached({ authorization: `Bearer ${key}` }, '/')).toMatchObject({ status: 'ok', principal: { userId: 'user-1' } });
    expect(auth.checkCached({ authorization: 'Basic abc' }, '/')).toEqual({ status: 'invalid' });
    expect(auth.checkCached({}, '/')).toEqual({ status: 'invalid' });
    expect(lookups()).toBe(2);
  });

  it('judges the origin of a cookie-authenticated request on a cache hit too', async () => {
    const { auth, key, release } = setup();
    release();
    await auth.userForKey(key);
    const cookie = `access_token=${key}`;
    expect(auth.checkCached({ cookie, host: 'svc.example', origin: 'https://evil.example' }, '/')).toEqual({ status: 'origin' });
    expect(auth.checkCached({ cookie, host: 'svc.example', origin: 'https://svc.example' }, '/')).toMatchObject({ status: 'ok' });
    expect(auth.checkCached({ authorization: `Bearer ${key}`, host: 'svc.example', origin: 'https://evil.example' }, '/')).toMatchObject({ status: 'ok' });
  });
});
