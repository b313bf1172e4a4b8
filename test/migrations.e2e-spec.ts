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

    const withVersion = new DataSource({ type: 'postgres', url: database.url, migrations: MIGRATIONS, migrationsTableName: 'migrations' });
    await withVersion.initialize();
    try {
      expect(await withVersion.runMigrations()).toHaveLength(MIGRATIONS.length - 1);
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
});
