import { describe, expect, it } from '@jest/globals';
import { ForbiddenException, NotFoundException } from '@nestjs/common';
import type { KeyRevocations } from '../auth/key-revocations.js';
import type { Principal } from '../auth/principal.js';
import type { ApiKeyEntity } from './api-key.entity.js';
import { KeysService } from './keys.service.js';
import type { UsersRepository } from './users.repository.js';

const ADMIN: Principal = { userId: 'a0000000-0000-4000-8000-000000000000', keyId: 'k0000000-0000-4000-8000-000000000000', isAdmin: true };
const USER: Principal = { userId: 'b0000000-0000-4000-8000-000000000000', keyId: 'c0000000-0000-4000-8000-000000000000', isAdmin: false };
const KEY_ID = 'd0000000-0000-4000-8000-000000000000';

function row(id: string, userId: string): ApiKeyEntity {
  return { id, userId, prefix: '0123456789ab', created: new Date(0), revokedAt: null, keyHash: Buffer.alloc(0) };
}

function setup(live = true) {
  const announced: string[] = [];
  const calls: string[] = [];
  const users = {
    revokeKey: async (id: string) => (calls.push(`revoke ${id}`), live ? row(id, USER.userId) : null),
    rotateKey: async (old: string, key: { id: string }) => (calls.push(`rotate ${old}`), live ? row(key.id, USER.userId) : null),
    addKey: async (userId: string, key: { id: string }) => (calls.push(`add ${userId}`), row(key.id, userId)),
  } as unknown as UsersRepository;
  const revocations = { announce: (id: string) => announced.push(id) } as unknown as KeyRevocations;
  return { keys: new KeysService(users, revocations), announced, calls };
}

describe('KeysService', () => {
  it('lets only the admin create and revoke keys, before touching the database', async () => {
    const { keys, calls, announced } = setup();
    await expect(keys.create(USER, USER.userId)).rejects.toThrow(ForbiddenException);
    await expect(keys.revoke(USER, KEY_ID)).rejects.toThrow(ForbiddenException);
    expect(calls).toEqual([]);
    expect(announced).toEqual([]);
  });

  it('announces a revocation only once it committed', async () => {
    const revoked = setup();
    await revoked.keys.revoke(ADMIN, KEY_ID);
    expect(revoked.announced).toEqual([KEY_ID]);
    const gone = setup(false);
    await expect(gone.keys.revoke(ADMIN, KEY_ID)).rejects.toThrow(NotFoundException);
    expect(gone.announced).toEqual([]);
    await expect(gone.keys.revoke(ADMIN, 'not-a-uuid')).rejects.toThrow(NotFoundException);
  });

  it('rotates the key of the request: a new key shown once, the old one announced revoked', async () => {
    const { keys, announced, calls } = setup();
    const rotated = await keys.rotate(USER);
    expect(rotated.api_key).toMatch(/^sk_[0-9a-f]{12}_/);
    expect(rotated).toMatchObject({ user_id: USER.userId, revoked_at: null });
    expect(calls).toEqual([`rotate ${USER.keyId}`]);
    expect(announced).toEqual([USER.keyId]);
  });

  it('creates a key for a user, shown once', async () => {
    const { keys } = setup();
    const created = await keys.create(ADMIN, USER.userId);
    expect(created).toMatchObject({ user_id: USER.userId, api_key: expect.stringMatching(/^sk_/) });
  });
});
