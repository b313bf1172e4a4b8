import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity.js';
import { UserEntity } from './user.entity.js';

/** Arbitrary constant naming the "first user" advisory lock among advisory locks. */
const FIRST_USER_LOCK = 7_310_914_202;

/** What a key lookup needs to authenticate: never more than the hash leaves the database. */
export interface KeyRecord {
  keyId: string;
  userId: string;
  keyHash: Buffer;
  isAdmin: boolean;
}

export interface NewKeyRow {
  id: string;
  prefix: string;
  hash: Buffer;
}

@Injectable()
export class UsersRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Creates a user with one API key, both or neither. The first user of the database is the
   * admin: creators serialize on the advisory lock, so exactly one of them sees no user.
   */
  async createWithKey(id: string, name: string, key: NewKeyRow): Promise<{ user: UserEntity; key: ApiKeyEntity }> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [FIRST_USER_LOCK]);
      const isAdmin = !(await manager.exists(UserEntity));
      return this.insertUser(manager, id, name, isAdmin, key);
    });
  }

  /**
   * Creates the user (as the admin) only if the database has none yet. Replicas starting
   * together on an empty database serialize on the advisory lock, so exactly one creates it.
   */
  async createIfNoUsers(id: string, name: string, key: NewKeyRow): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [FIRST_USER_LOCK]);
      if (await manager.exists(UserEntity)) return false;
      await this.insertUser(manager, id, name, true, key);
      return true;
    });
  }

  /** The live (not revoked) key with this prefix, with its user's role: one statement. */
  async findKeyByPrefix(prefix: string): Promise<KeyRecord | null> {
    const rows: { key_id: string; user_id: string; key_hash: Buffer; is_admin: boolean }[] = await this.dataSource.query(
      `SELECT k.id AS key_id, k.user_id, k.key_hash, u.is_admin
         FROM api_keys k JOIN users u ON u.id = k.user_id
        WHERE k.prefix = $1 AND k.revoked_at IS NULL`,
      [prefix],
    );
    const row = rows[0];
    return row ? { keyId: row.key_id, userId: row.user_id, keyHash: row.key_hash, isAdmin: row.is_admin } : null;
  }

  findUser(id: string): Promise<UserEntity | null> {
    return this.dataSource.getRepository(UserEntity).findOne({ where: { id } });
  }

  listUsers(): Promise<UserEntity[]> {
    return this.dataSource.getRepository(UserEntity).find({ order: { created: 'ASC', id: 'ASC' } });
  }

  /** A new key for an existing user; null when the user does not exist. */
  async addKey(userId: string, key: NewKeyRow): Promise<ApiKeyEntity | null> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `INSERT INTO api_keys (id, user_id, prefix, key_hash)
       SELECT $1, id, $3, $4 FROM users WHERE id = $2
       RETURNING id, user_id, prefix, created, revoked_at`,
      [key.id, userId, key.prefix, key.hash],
    );
    return rows[0] ? toKey(rows[0]) : null;
  }

  /** Every key of the user, revoked ones included, oldest first; never the hash. */
  listKeys(userId: string): Promise<ApiKeyEntity[]> {
    return this.dataSource.getRepository(ApiKeyEntity).find({
      select: { id: true, userId: true, prefix: true, created: true, revokedAt: true },
      where: { userId },
      order: { created: 'ASC', id: 'ASC' },
    });
  }

  findKey(id: string): Promise<ApiKeyEntity | null> {
    return this.dataSource.getRepository(ApiKeyEntity).findOne({
      select: { id: true, userId: true, prefix: true, created: true, revokedAt: true },
      where: { id },
    });
  }

  /** Revokes a live key; null when there is no such key or it was already revoked. */
  async revokeKey(id: string): Promise<ApiKeyEntity | null> {
    return this.revokeWith(this.dataSource.manager, id);
  }

  /** Revokes `oldKeyId` and adds `key` to the same user, both or neither; null if the old key is gone. */
  async rotateKey(oldKeyId: string, key: NewKeyRow): Promise<ApiKeyEntity | null> {
    return this.dataSource.transaction(async (manager) => {
      const old = await this.revokeWith(manager, oldKeyId);
      if (!old) return null;
      const [row]: Record<string, unknown>[] = await manager.query(
        `INSERT INTO api_keys (id, user_id, prefix, key_hash) VALUES ($1, $2, $3, $4) RETURNING id, user_id, prefix, created, revoked_at`,
        [key.id, old.userId, key.prefix, key.hash],
      );
      return toKey(row);
    });
  }

  private async revokeWith(manager: EntityManager, id: string): Promise<ApiKeyEntity | null> {
    const [rows]: [Record<string, unknown>[], number] = await manager.query(
      `UPDATE api_keys SET revoked_at = clock_timestamp() WHERE id = $1 AND revoked_at IS NULL
       RETURNING id, user_id, prefix, created, revoked_at`,
      [id],
    );
    return rows[0] ? toKey(rows[0]) : null;
  }

  private async insertUser(manager: EntityManager, id: string, name: string, isAdmin: boolean, key: NewKeyRow): Promise<{ user: UserEntity; key: ApiKeyEntity }> {
    const [user]: Record<string, unknown>[] = await manager.query(
      `INSERT INTO users (id, name, is_admin) VALUES ($1, $2, $3) RETURNING id, name, is_admin, created`,
      [id, name, isAdmin],
    );
    const [row]: Record<string, unknown>[] = await manager.query(
      `INSERT INTO api_keys (id, user_id, prefix, key_hash) VALUES ($1, $2, $3, $4) RETURNING id, user_id, prefix, created, revoked_at`,
      [key.id, id, key.prefix, key.hash],
    );
    return {
      user: Object.assign(new UserEntity(), { id, name: user.name as string, isAdmin: user.is_admin as boolean, created: new Date(user.created as string | Date) }),
      key: toKey(row),
    };
  }
}

function toKey(row: Record<string, unknown>): ApiKeyEntity {
  return Object.assign(new ApiKeyEntity(), {
    id: row.id as string,
    userId: row.user_id as string,
    prefix: row.prefix as string,
    created: new Date(row.created as string | Date),
    revokedAt: row.revoked_at ? new Date(row.revoked_at as string | Date) : null,
  });
}
