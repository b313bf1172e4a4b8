import { Injectable, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { generateApiKey } from '../auth/api-key.js';
import { KeyRevocations } from '../auth/key-revocations.js';
import type { Principal } from '../auth/principal.js';
import { UUID_PATTERN } from '../protocol/protocol.js';
import { mapKey, type ApiKeyDto, type NewApiKeyDto } from './user.dto.js';
import { UsersRepository } from './users.repository.js';
import { assertAdmin, assertSelfOrAdmin } from './users.service.js';

/**
 * API keys: the admin creates and revokes them, a user lists and rotates their own. A key
 * is shown once, when created; afterwards only its prefix. Every revocation is announced
 * (KeyRevocations), so every replica stops accepting the key and closes what it opened.
 */
@Injectable()
export class KeysService {
  constructor(
    private readonly users: UsersRepository,
    private readonly revocations: KeyRevocations,
  ) {}

  async create(caller: Principal, userId: string): Promise<NewApiKeyDto> {
    assertAdmin(caller);
    const key = generateApiKey();
    const row = UUID_PATTERN.test(userId) ? await this.users.addKey(userId, { id: randomUUID(), prefix: key.prefix, hash: key.hash }) : null;
    if (!row) throw new NotFoundException('user not found');
    return { ...mapKey(row), api_key: key.key };
  }

  async list(caller: Principal, userId: string): Promise<ApiKeyDto[]> {
    assertSelfOrAdmin(caller, userId);
    if (!UUID_PATTERN.test(userId) || !(await this.users.findUser(userId))) throw new NotFoundException('user not found');
    return (await this.users.listKeys(userId)).map(mapKey);
  }

  /** Revokes a live key; 404 for an unknown or already revoked one. */
  async revoke(caller: Principal, keyId: string): Promise<void> {
    assertAdmin(caller);
    const revoked = UUID_PATTERN.test(keyId) ? await this.users.revokeKey(keyId) : null;
    if (!revoked) throw new NotFoundException('key not found or already revoked');
    this.revocations.announce(revoked.id);
  }

  /** A new key for the caller; the key the request was made with is revoked in the same transaction. */
  async rotate(caller: Principal): Promise<NewApiKeyDto> {
    const key = generateApiKey();
    const row = await this.users.rotateKey(caller.keyId, { id: randomUUID(), prefix: key.prefix, hash: key.hash });
    // Revoked meanwhile (by the admin, or a concurrent rotation): that revocation was announced already.
    if (!row) throw new NotFoundException('the key of this request was revoked meanwhile');
    this.revocations.announce(caller.keyId);
    return { ...mapKey(row), api_key: key.key };
  }
}
