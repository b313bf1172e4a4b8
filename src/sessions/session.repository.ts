import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { InteractionState } from '../protocol/protocol.js';
import { InteractionEntity } from './interaction.entity.js';
import { SessionEntity } from './session.entity.js';

export interface ListPosition {
  updated: Date;
  id: string;
}

export interface InteractionChanges {
  responseMessage?: string;
  append?: string;
  state?: InteractionState;
  error?: string;
}

/**
 * All SQL on sessions and interactions. Every change takes the session's next version
 * atomically with itself: in one statement where one suffices, else inside a transaction
 * whose EntityManager the method takes.
 */
@Injectable()
export class SessionRepository {
  constructor(private readonly dataSource: DataSource) {}

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
  findWithInteractions(id: string, ownerId: string, manager: EntityManager = this.dataSource.manager): Promise<SessionEntity | null> {
    return manager
      .createQueryBuilder(SessionEntity, 's')
      .leftJoinAndSelect('s.interactions', 'i')
      .where('s.id = :id AND s.owner_id = :ownerId', { id, ownerId })
      .orderBy('i.seq', 'ASC')
      .getOne();
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
    );
    return rows[0] ? versioned(rows[0]) : null;
  }

  /**
   * Changes an interaction and takes the session's next version in ONE statement. The bump
   * happens only if the interaction exists in that session, and it locks the session row
   * before the interaction row, like every other writer (no lock-order deadlock with
   * DELETE). `append` concatenates in SQL on the latest committed text, so concurrent
   * appends each keep their text. Null when nothing matched: nothing changed.
   */
  async updateInteraction(sessionId: string, ownerId: string, id: string, changes: InteractionChanges): Promise<VersionedInteraction | null> {
    const params: unknown[] = [sessionId, ownerId, id];
    const set = ['updated = bump.updated', 'version = bump.version'];
    const param = (value: unknown) => `$${params.push(value)}`;
    if (changes.responseMessage !== undefined) set.push(`response_message = ${param(changes.responseMessage)}`);
    if (changes.append !== undefined) set.push(`response_message = interactions.response_message || ${param(changes.append)}`);
    if (changes.state !== undefined) set.push(`state = ${param(changes.state)}`);
    if (changes.error !== undefined) set.push(`error = ${param(changes.error)}`);
    const rows = await this.records<InteractionRow>(
      `WITH bump AS (${BUMP_VERSION} AND EXISTS (SELECT 1 FROM interactions WHERE id = $3 AND session_id = $1) RETURNING version, updated)
       UPDATE interactions SET ${set.join(', ')}
       FROM bump
       WHERE interactions.id = $3 AND interactions.session_id = $1
       RETURNING ${INTERACTION_COLUMNS.split(', ').map((column) => `interactions.${column}`).join(', ')}`,
      params,
    );
    return rows[0] ? versioned(rows[0]) : null;
  }

  /** Rows of a raw statement, whatever its command (TypeORM shapes UPDATE results differently). */
  private async records<T>(sql: string, params: unknown[]): Promise<T[]> {
    const runner = this.dataSource.createQueryRunner();
    try {
      return (await runner.query(sql, params, true)).records as T[];
    } finally {
      await runner.release();
    }
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
  const interaction = Object.assign(new InteractionEntity(), {
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
  return { version: Number(row.version), interaction };
}
