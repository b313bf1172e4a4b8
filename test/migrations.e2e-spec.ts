import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../src/database/data-source-options.js';
import { createPostgresDatabase, type TestDatabase } from './helpers/database.js';

/** Migrations on a real PostgreSQL database: each one's `up` on data, and its `down`. */
describe('migrations', () => {
  let database: TestDatabase;
  let source: DataSource;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    source = new DataSource({ type: 'postgres', url: database.url, migrations: [MIGRATIONS[0]], migrationsTableName: 'migrations' });
    await source.initialize();
    await source.runMigrations();
  });

  afterAll(async () => {
    await source?.destroy();
    await database?.drop();
  });

  it('interaction version: backfills existing rows with their session version, and down drops the column', async () => {
    const user = randomUUID();
    const session = randomUUID();
    const interaction = randomUUID();
    await source.query(`INSERT INTO users (id, name) VALUES ($1, 'u')`, [user]);
    await source.query(`INSERT INTO sessions (id, owner_id, name, version) VALUES ($1, $2, 's', 7)`, [session, user]);
    await source.query(`INSERT INTO interactions (id, session_id, prompt_message) VALUES ($1, $2, 'p')`, [interaction, session]);

    const withVersion = new DataSource({ type: 'postgres', url: database.url, migrations: MIGRATIONS.slice(0, 2), migrationsTableName: 'migrations' });
    await withVersion.initialize();
    try {
      expect(await withVersion.runMigrations()).toHaveLength(1);
      expect(await withVersion.query(`SELECT version FROM interactions WHERE id = $1`, [interaction])).toEqual([{ version: 7 }]);
      await expect(withVersion.query(`INSERT INTO interactions (id, session_id, prompt_message) VALUES ($1, $2, 'q')`, [randomUUID(), session])).rejects.toThrow(/null value in column "version"/);

      await withVersion.undoLastMigration();
      const columns = await withVersion.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'interactions' AND column_name = 'version'`);
      expect(columns).toEqual([]);
      expect(await withVersion.query(`SELECT prompt_message FROM interactions WHERE id = $1`, [interaction])).toEqual([{ prompt_message: 'p' }]);

      expect(await withVersion.runMigrations()).toHaveLength(1);
      expect(await withVersion.query(`SELECT version FROM interactions WHERE id = $1`, [interaction])).toEqual([{ version: 7 }]);
    } finally {
      await withVersion.destroy();
    }
  });

  it('admin and key revocation: the oldest user becomes the admin, keys gain revoked_at, and down drops both', async () => {
    const db = await createPostgresDatabase();
    const before = new DataSource({ type: 'postgres', url: db.url, migrations: MIGRATIONS.slice(0, 2), migrationsTableName: 'migrations' });
    const after = new DataSource({ type: 'postgres', url: db.url, migrations: MIGRATIONS, migrationsTableName: 'migrations' });
    try {
      await before.initialize();
      await before.runMigrations();
      const [first, second] = [randomUUID(), randomUUID()];
      await before.query(`INSERT INTO users (id, name, created) VALUES ($1, 'admin', now() - interval '1 day'), ($2, 'later', now())`, [first, second]);
      await before.query(`INSERT INTO api_keys (id, user_id, prefix, key_hash) VALUES ($1, $2, 'aaaaaaaaaaaa', '\\x00')`, [randomUUID(), second]);
      await before.destroy();

      await after.initialize();
      expect(await after.runMigrations()).toHaveLength(1);
      expect(await after.query(`SELECT name, is_admin FROM users ORDER BY created`)).toEqual([
        { name: 'admin', is_admin: true },
        { name: 'later', is_admin: false },
      ]);
      expect(await after.query(`SELECT revoked_at FROM api_keys`)).toEqual([{ revoked_at: null }]);

      await after.undoLastMigration();
      const columns = await after.query(
        `SELECT column_name FROM information_schema.columns WHERE (table_name, column_name) IN (('users', 'is_admin'), ('api_keys', 'revoked_at'))`,
      );
      expect(columns).toEqual([]);
      expect(await after.query(`SELECT count(*)::int AS n FROM api_keys`)).toEqual([{ n: 1 }]);
      expect(await after.runMigrations()).toHaveLength(1);
    } finally {
      if (before.isInitialized) await before.destroy();
      if (after.isInitialized) await after.destroy();
      await db.drop();
    }
  });
});
