import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keys and users over the API: users gain `is_admin`, keys gain `revoked_at` (a revoked key
 * is kept, so that its prefix stays taken and an admin can still see what was revoked).
 *
 * The first user ever created is the admin; on an existing database that is the oldest user
 * (ties by id), normally the `admin` the first start created.
 */
export class AdminAndKeyRevocation1764600000000 implements MigrationInterface {
  name = 'AdminAndKeyRevocation1764600000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE users ADD COLUMN is_admin boolean NOT NULL DEFAULT false`);
    await db.query(`UPDATE users SET is_admin = true WHERE id = (SELECT id FROM users ORDER BY created, id LIMIT 1)`);
    await db.query(`ALTER TABLE api_keys ADD COLUMN revoked_at timestamptz(3)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE api_keys DROP COLUMN revoked_at`);
    await db.query(`ALTER TABLE users DROP COLUMN is_admin`);
  }
}
