import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * Where tests find PostgreSQL: DATABASE_URL when the suite runs on Postgres, else the
 * machine's local server. Tests that are about several processes sharing a database always
 * need it; they fail (never skip) when it cannot be reached.
 */
export const POSTGRES_URL = process.env.DATABASE_URL ?? process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** True when the suite runs on the embedded default (no DATABASE_URL). */
export const EMBEDDED = !process.env.DATABASE_URL;

export interface TestDatabase {
  /** Env vars that point a service at this database. */
  env: Record<string, string>;
  /** The postgres:// URL, or undefined for the embedded database. */
  url?: string;
  drop(): Promise<void>;
}

/** A fresh, empty PostgreSQL database of its own, dropped afterwards. */
export async function createPostgresDatabase(): Promise<TestDatabase> {
  const name = `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(`PostgreSQL is required at ${POSTGRES_URL} (set TEST_POSTGRES_URL): ${String(error)}`);
  }
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    env: { DATABASE_URL: url.toString() },
    drop: async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** A fresh embedded database directory, removed afterwards. */
export function createEmbeddedDatabase(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'session-sync-'));
  return { env: { DATA_DIR: dir }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** The database of the run's mode: Postgres with DATABASE_URL set, the embedded one otherwise. */
export function createTestDatabase(): Promise<TestDatabase> {
  return EMBEDDED ? Promise.resolve(createEmbeddedDatabase()) : createPostgresDatabase();
}
