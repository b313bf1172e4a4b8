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
 * All SQL on sessions and interactions. Methods that change a session take the transaction's
 * EntityManager: the version bump and the change it numbers commit together or not at all.
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
   * Takes the session's next version (and applies a rename) in one atomic UPDATE … RETURNING.
   * The row lock it takes serializes concurrent writers to one session until commit, so each
   * gets its own consecutive version. Null when the session is missing or not the owner's.
   */
  async nextVersion(manager: EntityManager, id: string, ownerId: string, name?: string): Promise<SessionEntity | null> {
    const result = await manager
      .createQueryBuilder()
      .update(SessionEntity)
      .set({ version: () => 'version + 1', updated: () => 'clock_timestamp()', ...(name === undefined ? {} : { name }) })
      .where('id = :id AND owner_id = :ownerId', { id, ownerId })
      .returning(['version', 'name', 'created', 'updated'])
      .execute();
    const row = result.raw[0] as Pick<SessionEntity, 'version' | 'name' | 'created' | 'updated'> | undefined;
    return row ? Object.assign(new SessionEntity(), { id, ownerId, ...row }) : null;
  }

  async insertInteraction(manager: EntityManager, id: string, sessionId: string, promptMessage: string): Promise<InteractionEntity> {
    const result = await manager
      .createQueryBuilder()
      .insert()
      .into(InteractionEntity)
      .values({ id, sessionId, promptMessage, responseMessage: '', state: 'waiting', error: '' })
      .returning(INTERACTION_COLUMNS)
      .execute();
    return interactionFromRow(result.raw[0]);
  }

  /** `append` concatenates in SQL, so concurrent appends each keep their text. */
  async updateInteraction(
    manager: EntityManager,
    sessionId: string,
    id: string,
    changes: InteractionChanges,
  ): Promise<InteractionEntity | null> {
    const set: Record<string, unknown> = { updated: () => 'clock_timestamp()' };
    if (changes.responseMessage !== undefined) set.responseMessage = changes.responseMessage;
    if (changes.append !== undefined) set.responseMessage = () => 'response_message || :append';
    if (changes.state !== undefined) set.state = changes.state;
    if (changes.error !== undefined) set.error = changes.error;
    const result = await manager
      .createQueryBuilder()
      .update(InteractionEntity)
      .set(set)
      .where('id = :id AND session_id = :sessionId', { id, sessionId })
      .setParameter('append', changes.append)
      .returning(INTERACTION_COLUMNS)
      .execute();
    return result.raw[0] ? interactionFromRow(result.raw[0]) : null;
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

/** Property paths (TypeORM maps them to columns); the raw rows come back with column names. */
const INTERACTION_COLUMNS = ['id', 'sessionId', 'promptMessage', 'responseMessage', 'state', 'error', 'created', 'updated'];

function interactionFromRow(row: Record<string, unknown>): InteractionEntity {
  return Object.assign(new InteractionEntity(), {
    id: row.id,
    sessionId: row.session_id,
    promptMessage: row.prompt_message,
    responseMessage: row.response_message,
    state: row.state,
    error: row.error,
    created: row.created,
    updated: row.updated,
  });
}
