import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        created timestamptz(3) NOT NULL DEFAULT clock_timestamp()
      )`);
    await db.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        prefix text NOT NULL UNIQUE,
        key_hash bytea NOT NULL,
        created timestamptz(3) NOT NULL DEFAULT clock_timestamp()
      )`);
    await db.query(`CREATE INDEX api_keys_user_id_idx ON api_keys (user_id)`);
    await db.query(`
      CREATE TABLE sessions (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name text NOT NULL,
        version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        created timestamptz(3) NOT NULL DEFAULT clock_timestamp(),
        updated timestamptz(3) NOT NULL DEFAULT clock_timestamp()
      )`);
    // A user's sessions newest first, ties by id: the list query and its keyset cursor.
    await db.query(`CREATE INDEX sessions_owner_updated_idx ON sessions (owner_id, updated DESC, id)`);
    await db.query(`
      CREATE TABLE interactions (
        id uuid PRIMARY KEY,
        session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        prompt_message text NOT NULL,
        response_message text NOT NULL DEFAULT '',
        state text NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'editing', 'complete', 'error')),
        error text NOT NULL DEFAULT '',
        created timestamptz(3) NOT NULL DEFAULT clock_timestamp(),
        updated timestamptz(3) NOT NULL DEFAULT clock_timestamp()
      )`);
    // The snapshot read: one session's interactions in creation order.
    await db.query(`CREATE INDEX interactions_session_seq_idx ON interactions (session_id, seq)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE interactions`);
    await db.query(`DROP TABLE sessions`);
    await db.query(`DROP TABLE api_keys`);
    await db.query(`DROP TABLE users`);
  }
}
