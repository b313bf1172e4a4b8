import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import type { Pool, QueryResultRow } from 'pg';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { StatementCounter } from '../database/statement-counter.js';
import type { InteractionState } from '../protocol/protocol.js';
import { InteractionEntity } from './interaction.entity.js';
import { SessionEntity } from './session.entity.js';

export interface ListPosition {
  updated: Date;
  id: string;
}

export interface InteractionChanges {
  responseMessage?: string;
  state?: InteractionState;
  error?: string;
}

export interface AppendChanges {
  append: string;
  /** The UTF-8 byte length the writer believes `response_message` has; the append commits only then. */
  offset?: number;
  /** The text may not grow past this many UTF-8 bytes. */
  maxBytes: number;
  state?: InteractionState;
  error?: string;
}

export type AppendResult =
  | ({ outcome: 'appended' } & VersionedInteraction)
  /** Nothing changed; `length` is the UTF-8 byte length of `response_message` when it was judged. */
  | { outcome: 'offset_mismatch' | 'too_large'; length: number }
  | { outcome: 'missing' };

/**
 * All SQL on sessions and interactions. Every change takes the session's next version
 * atomically with itself: in one statement where one suffices, else inside a transaction
 * whose EntityManager the method takes.
 */
@Injectable()
export class SessionRepository {
  /**
   * Prepared statements only on PostgreSQL, unless DATABASE_PREPARED_STATEMENTS=false (a
   * pooler in transaction mode). The embedded database serves every connection of the pool
   * from its one session, so a statement prepared on a connection the pool has since closed
   * is still there when a new connection prepares it again: an error.
   */
  private readonly prepare: boolean;

  constructor(
    private readonly dataSource: DataSource,
    private readonly counter: StatementCounter,
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'databaseUrl' | 'databasePreparedStatements'>,
  ) {
    this.prepare = Boolean(config.databaseUrl) && config.databasePreparedStatements;
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async create(id: string, ownerId: string, name: string): Promise<SessionEntity> {
    const result = await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(SessionEntity)
      .values({ id, ownerId, name, version: 1 })
      .returning(['created', 'updated'])
      .execute();
    const { created, updated } = result.raw[0] as { created: Date; updated: Date };
    return Object.assign(new SessionEntity(), { id, ownerId, name, version: 1, created, updated, interactions: [] });
  }

  /**
   * The snapshot: the session and all its interactions, oldest first, in ONE statement (a
   * join; `findOne` with relations would issue two). Null when missing or not the owner's.
   */
  async findWithInteractions(id: string, ownerId: string, manager?: EntityManager): Promise<SessionEntity | null> {
    // Raw SQL, prepared on PostgreSQL: the snapshot read is on the path of every cold connect,
    // where the ORM's query building and row hydration cost more CPU than the query itself.
    const rows: SnapshotRow[] =
      manager && manager !== this.dataSource.manager
        ? await manager.query(SNAPSHOT_STATEMENT, [id, ownerId])
        : await this.records<SnapshotRow>(SNAPSHOT_STATEMENT, [id, ownerId], 'session_snapshot');
    return rows.length === 0 ? null : sessionOf(rows);
  }

  /** One page of a user's sessions, newest `updated` first, ties by id; one extra row tells if more follow. */
  listPage(ownerId: string, limit: number, after: ListPosition | null): Promise<SessionEntity[]> {
    const query = this.dataSource
      .createQueryBuilder(SessionEntity, 's')
      .where('s.owner_id = :ownerId', { ownerId })
      .orderBy('s.updated', 'DESC')
      .addOrderBy('s.id', 'ASC')
      .limit(limit + 1);
    if (after) {
      query.andWhere('(s.updated < :updated OR (s.updated = :updated AND s.id > :id))', after);
    }
    return query.getMany();
  }

  /**
   * Renames the session and takes its next version in one atomic UPDATE … RETURNING.
   * The row lock it takes serializes concurrent writers to one session until commit, so each
   * gets its own consecutive version. Null when the session is missing or not the owner's.
   */
  async rename(manager: EntityManager, id: string, ownerId: string, name: string): Promise<SessionEntity | null> {
    const result = await manager
      .createQueryBuilder()
      .update(SessionEntity)
      .set({ name, version: () => 'version + 1', updated: () => 'clock_timestamp()' })
      .where('id = :id AND owner_id = :ownerId', { id, ownerId })
      .returning(['version', 'name', 'created', 'updated'])
      .execute();
    const row = result.raw[0] as Pick<SessionEntity, 'version' | 'name' | 'created' | 'updated'> | undefined;
    return row ? Object.assign(new SessionEntity(), { id, ownerId, ...row }) : null;
  }

  /**
   * Adds an interaction and takes the session's next version in ONE statement (atomic on
   * its own, one round trip). The version bump runs first and locks the session row, so the
   * insert is ordered with every other writer of the session. Null when the session is
   * missing or not the owner's.
   */
  async insertInteraction(sessionId: string, ownerId: string, id: string, promptMessage: string): Promise<VersionedInteraction | null> {
    const rows = await this.records<InteractionRow>(
      `WITH bump AS (${BUMP_VERSION} RETURNING version, updated)
       INSERT INTO interactions (id, session_id, prompt_message, version, created, updated)
       SELECT $3, $1, $4, version, updated, updated FROM bump
       RETURNING ${INTERACTION_COLUMNS}`,
      [sessionId, ownerId, id, promptMessage],
      'insert_interaction',
    );
    return rows[0] ? versioned(rows[0]) : null;
  }

  /**
   * Changes an interaction (not by `append`: see appendToInteraction) and takes the session's
   * next version in ONE statement. The bump happens only if the interaction exists in that
   * session, and it locks the session row before the interaction row, like every other writer
   * (no lock-order deadlock with DELETE). Null when nothing matched: nothing changed.
   */
  async updateInteraction(sessionId: string, ownerId: string, id: string, changes: InteractionChanges): Promise<VersionedInteraction | null> {
    const params: unknown[] = [sessionId, ownerId, id];
    const set = ['updated = bump.updated', 'version = bump.version'];
    const param = (value: unknown) => `$${params.push(value)}`;
    if (changes.responseMessage !== undefined) set.push(`response_message = ${param(changes.responseMessage)}`);
    if (changes.state !== undefined) set.push(`state = ${param(changes.state)}`);
    if (changes.error !== undefined) set.push(`error = ${param(changes.error)}`);
    const rows = await this.records<InteractionRow>(
      `WITH bump AS (${BUMP_VERSION} AND EXISTS (SELECT 1 FROM interactions WHERE id = $3 AND session_id = $1) RETURNING version, updated)
       UPDATE interactions SET ${set.join(', ')}
       FROM bump
       WHERE interactions.id = $3 AND interactions.session_id = $1
       RETURNING ${interactionColumnsOf('interactions')}`,
      params,
    );
    return rows[0] ? versioned(rows[0]) : null;
  }

  /**
   * Appends to `response_message` in ONE statement (see APPEND_STATEMENT), judging `offset` and
   * the size cap on the committed text under the row locks, so no other writer can slip
   * between the judgement and the write. Whatever the outcome other than `appended`, nothing
   * changed (not even the session's version).
   */
  async appendToInteraction(sessionId: string, ownerId: string, id: string, changes: AppendChanges): Promise<AppendResult> {
    const rows = await this.records<InteractionRow & { previous_length: number }>(APPEND_STATEMENT, [
      sessionId,
      ownerId,
      id,
      changes.append,
      changes.offset ?? null,
      changes.maxBytes,
      changes.state ?? null,
      changes.error ?? null,
    ], 'append_to_interaction');
    const row = rows[0];
    if (!row) return { outcome: 'missing' };
    if (row.id !== null) return { outcome: 'appended', ...versioned(row) };
    const length = Number(row.previous_length);
    return { outcome: changes.offset !== undefined && changes.offset !== length ? 'offset_mismatch' : 'too_large', length };
  }

  /**
   * Rows of a raw statement, straight on the driver's pool: the hot write path skips the ORM's
   * query-runner round (runner object, event broadcast, result reshaping), and a `name` makes
   * it a prepared statement, parsed and planned once per connection instead of per request.
   * Counted and wrapped in QueryFailedError like every query that goes through the ORM.
   */
  private async records<T>(sql: string, params: unknown[], name?: string): Promise<T[]> {
    this.counter.logQuery(sql, params);
    try {
      return (await this.pool.query<T & QueryResultRow>(name && this.prepare ? { name, text: sql, values: params } : { text: sql, values: params })).rows;
    } catch (error) {
      this.counter.logQueryError(error as Error, sql);
      throw new QueryFailedError(sql, params, error as Error);
    }
  }

  private get pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }

  async exists(id: string, ownerId: string): Promise<boolean> {
    return this.dataSource.getRepository(SessionEntity).exists({ where: { id, ownerId } });
  }

  /** Deletes the session (interactions cascade); returns the version it had, or null. */
  async delete(id: string, ownerId: string): Promise<number | null> {
    const result = await this.dataSource
      .createQueryBuilder()
      .delete()
      .from(SessionEntity)
      .where('id = :id AND owner_id = :ownerId', { id, ownerId })
      .returning(['version'])
      .execute();
    return (result.raw[0] as { version: number } | undefined)?.version ?? null;
  }

  /** Current versions of the given sessions (missing ones absent): the periodic catch-up check. */
  async versions(ids: string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const rows: { id: string; version: number }[] = await this.dataSource
      .createQueryBuilder(SessionEntity, 's')
      .select(['s.id AS id', 's.version AS version'])
      .where('s.id IN (:...ids)', { ids })
      .getRawMany();
    return new Map(rows.map((row) => [row.id, Number(row.version)]));
  }
}

/**
 * Takes the next version of session $1 if owner $2 has it; the row lock it takes orders writers.
 * Its `updated` is the change's one timestamp: the interaction it changes takes the same, so
 * a process that holds a session's state can advance it from the interaction's event alone.
 */
const BUMP_VERSION = 'UPDATE sessions SET version = version + 1, updated = clock_timestamp() WHERE id = $1 AND owner_id = $2';

const INTERACTION_COLUMNS = 'id, session_id, prompt_message, response_message, state, error, version, created, updated';

/** INTERACTION_COLUMNS qualified by a table name or alias, for statements that join or update from another table. */
function interactionColumnsOf(table: string): string {
  return INTERACTION_COLUMNS.split(', ').map((column) => `${table}.${column}`).join(', ');
}

/**
 * The append: $1 session, $2 owner, $3 interaction, $4 text, $5 offset (or null), $6 cap in
 * bytes, $7 state, $8 error (null: unchanged). Exported so that the benchmark's pgbench floor
 * runs exactly this statement.
 *
 * Why this shape: under READ COMMITTED a statement's reads see the snapshot taken when it
 * started, so a length judged in a WHERE clause could be one that a writer committed over
 * while this statement waited for its lock. Rows read with FOR … UPDATE, though, are re-read
 * at their latest committed version once the lock is held. So the statement first locks the
 * session row (the same order as every other writer: session, then interaction), then the
 * interaction row, reading its current byte length (`octet_length` reads the stored size, it
 * does not fetch a long text); only when that length equals the offset and the result fits
 * under the cap does it take the next version and write. Otherwise `bump` and `changed`
 * match nothing, and the one row returned carries the length that was judged.
 * No row at all: the session (the caller's) or the interaction in it does not exist.
 * The interaction takes the session's new `updated` (see BUMP_VERSION): one change, one
 * timestamp, or a state advanced from the event could be a millisecond off the database's.
 */
export const APPEND_STATEMENT = `WITH s AS MATERIALIZED (
  SELECT id FROM sessions WHERE id = $1 AND owner_id = $2 FOR NO KEY UPDATE
), i AS MATERIALIZED (
  SELECT interactions.id, octet_length(interactions.response_message) AS length
  FROM interactions JOIN s ON s.id = interactions.session_id
  WHERE interactions.id = $3
  FOR NO KEY UPDATE OF interactions
), bump AS (
  UPDATE sessions SET version = sessions.version + 1, updated = clock_timestamp()
  FROM i
  WHERE sessions.id = $1 AND ($5::bigint IS NULL OR i.length = $5::bigint) AND i.length::bigint + octet_length($4::text) <= $6::bigint
  RETURNING sessions.version, sessions.updated
), changed AS (
  UPDATE interactions
  SET response_message = interactions.response_message || $4::text, updated = bump.updated, version = bump.version,
    state = COALESCE($7::text, interactions.state), error = COALESCE($8::text, interactions.error)
  FROM bump
  WHERE interactions.id = $3
  RETURNING ${interactionColumnsOf('interactions')}
)
SELECT i.length AS previous_length, changed.* FROM i LEFT JOIN changed ON true`;

/** The session ($1, owner $2) and its interactions oldest first, one row each (one row of nulls when none). */
const SNAPSHOT_STATEMENT = `SELECT s.id AS s_id, s.owner_id AS s_owner_id, s.name AS s_name, s.version AS s_version, s.created AS s_created, s.updated AS s_updated,
  ${interactionColumnsOf('i')}
FROM sessions s LEFT JOIN interactions i ON i.session_id = s.id
WHERE s.id = $1 AND s.owner_id = $2
ORDER BY i.seq`;

/** A row of SNAPSHOT_STATEMENT: the session's columns, and an interaction's (all null when it has none). */
interface SnapshotRow extends InteractionRow {
  s_id: string;
  s_owner_id: string;
  s_name: string;
  s_version: number;
  s_created: Date;
  s_updated: Date;
}

function sessionOf(rows: SnapshotRow[]): SessionEntity {
  const [first] = rows;
  return Object.assign(new SessionEntity(), {
    id: first.s_id,
    ownerId: first.s_owner_id,
    name: first.s_name,
    version: Number(first.s_version),
    created: first.s_created,
    updated: first.s_updated,
    interactions: rows.filter((row) => row.id !== null).map(interactionOf),
  });
}

interface InteractionRow {
  id: string;
  session_id: string;
  prompt_message: string;
  response_message: string;
  state: InteractionState;
  error: string;
  created: Date;
  updated: Date;
  version: number;
}

export interface VersionedInteraction {
  /** The session version this change took (also the interaction's own `version`). */
  version: number;
  interaction: InteractionEntity;
}

function versioned(row: InteractionRow): VersionedInteraction {
  return { version: Number(row.version), interaction: interactionOf(row) };
}

function interactionOf(row: InteractionRow): InteractionEntity {
  return Object.assign(new InteractionEntity(), {
    id: row.id,
    sessionId: row.session_id,
    promptMessage: row.prompt_message,
    responseMessage: row.response_message,
    state: row.state,
    error: row.error,
    version: Number(row.version),
    created: row.created,
    updated: row.updated,
  });
}
