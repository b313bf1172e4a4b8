import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * v1.1: each interaction carries the session version of its last committed change, so a
 * `since=V` connect can send only the interactions changed after V.
 *
 * Rows that exist before this migration get their session's current version: the version of
 * their last change is unknown, and claiming the newest one is the safe side (a resuming
 * client is sent such an interaction again, which it merges as a no-op; one claimed too old
 * would be withheld from a client that never saw its change).
 */
export class InteractionVersion1764500000000 implements MigrationInterface {
  name = 'InteractionVersion1764500000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE interactions ADD COLUMN version integer`);
    await db.query(`UPDATE interactions i SET version = s.version FROM sessions s WHERE s.id = i.session_id`);
    await db.query(`ALTER TABLE interactions ALTER COLUMN version SET NOT NULL, ADD CONSTRAINT interactions_version_check CHECK (version >= 1)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE interactions DROP COLUMN version`);
  }
}
