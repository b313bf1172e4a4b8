import { describe, expect, it } from '@jest/globals';
import type { AppConfig } from '../config/app-config.js';
import { MemoryBus } from '../events/memory-bus.js';
import type { UsersRepository } from '../users/users.repository.js';
import { generateApiKey } from './api-key.js';
import { AuthService } from './auth.service.js';
import { KeyRevocations, REVOCATION_SUBJECT, revocationMessage } from './key-revocations.js';

function setup() {
  const bus = new MemoryBus();
  const revocations = new KeyRevocations(bus);
  const { key, hash } = generateApiKey();
  let lookups = 0;
  let revokedInDb = false;
  const users = {
    findKeyByPrefix: async () => {
      lookups++;
      return revokedInDb ? null : { keyId: 'key-1', userId: 'user-1', keyHash: hash, isAdmin: false };
    },
  } as unknown as UsersRepository;
  const auth = new AuthService(users, { authCacheTtlMs: 60_000, allowedOrigins: undefined } as AppConfig, revocations, bus);
  return { bus, revocations, auth, key, lookups: () => lookups, revoke: () => (revokedInDb = true) };
}

describe('KeyRevocations and the auth cache', () => {
  it('a revocation announced here drops the key from the cache at once', async () => {
    const { revocations, auth, key, lookups, revoke } = setup();
    await revocations.onModuleInit();
    expect(await auth.userForKey(key)).toBe('user-1');
    expect(await auth.userForKey(key)).toBe('user-1');
    expect(lookups()).toBe(1);
    revoke();
    revocations.announce('key-1');
    expect(await auth.userForKey(key)).toBeNull();
    expect(lookups()).toBe(2);
  });

  it('a revocation heard on the bus (another replica) does the same, and reaches every listener', async () => {
    const { bus, revocations, auth, key, lookups } = setup();
    await revocations.onModuleInit();
    const heard: string[] = [];
    revocations.onRevoked((id) => heard.push(id));
    await auth.userForKey(key);
    bus.publish(REVOCATION_SUBJECT, revocationMessage('key-1'));
    bus.publish(REVOCATION_SUBJECT, new TextEncoder().encode('not json'));
    expect(heard).toEqual(['key-1']);
    // The database still says live here, but the key was revoked lately: refused, not cached.
    expect(await auth.userForKey(key)).toBeNull();
    expect(lookups()).toBe(2);
  });
});
