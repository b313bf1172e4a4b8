import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity.js';
import { UserEntity } from './user.entity.js';

/** Arbitrary constant naming the "first user" advisory lock among advisory locks. */
const FIRST_USER_LOCK = 7_310_914_202;

@Injectable()
export class UsersRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Creates a user with one API key, both or neither. */
  async createWithKey(id: string, name: string, keyId: string, prefix: string, keyHash: Buffer): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.insert(UserEntity, { id, name });
      await manager.insert(ApiKeyEntity, { id: keyId, userId: id, prefix, keyHash });
    });
  }

  /**
   * Creates the user only if the database has none yet. Replicas starting together on an
   * empty database serialize on an advisory lock, so exactly one creates it.
   */
  async createIfNoUsers(id: string, name: string, keyId: string, prefix: string, keyHash: Buffer): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [FIRST_USER_LOCK]);
      if (await manager.exists(UserEntity)) return false;
      await manager.insert(UserEntity, { id, name });
      await manager.insert(ApiKeyEntity, { id: keyId, userId: id, prefix, keyHash });
      return true;
    });
  }

  async findKeyByPrefix(prefix: string): Promise<Pick<ApiKeyEntity, 'userId' | 'keyHash'> | null> {
    return this.dataSource
      .getRepository(ApiKeyEntity)
      .findOne({ select: { userId: true, keyHash: true }, where: { prefix } });
  }
}
