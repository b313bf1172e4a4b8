import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { AppendDelta } from '../events/session-events.js';
import { SessionEventsPublisher } from '../events/session-events.publisher.js';
import { UUID_PATTERN, type Interaction, type Session, type SessionList } from '../protocol/protocol.js';
import { decodeCursor, encodeCursor } from './list-cursor.js';
import {
  LIST_LIMIT_DEFAULT,
  LIST_LIMIT_MAX,
  mapInteraction,
  mapSession,
  mapSessionSummary,
  type UpdateInteractionDto,
} from './session.dto.js';
import { SessionRepository } from './session.repository.js';

/**
 * The rules of sessions: owner-only access (a foreign session is answered exactly like a
 * missing one), one version per committed change, and one published event per change,
 * after its commit.
 */
@Injectable()
export class SessionsService {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly events: SessionEventsPublisher,
  ) {}

  async create(ownerId: string, name: string): Promise<Session> {
    // Nobody can be subscribed to a session that did not exist: nothing to publish.
    return mapSession(await this.sessions.create(randomUUID(), ownerId, name));
  }

  async list(ownerId: string, limitParam: unknown, cursorParam: unknown): Promise<SessionList> {
    const limit = parseLimit(limitParam);
    const after = parseCursor(cursorParam);
    const rows = await this.sessions.listPage(ownerId, limit, after);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      sessions: page.map(mapSessionSummary),
      next_cursor: rows.length > limit && last ? encodeCursor(last) : null,
    };
  }

  async get(ownerId: string, id: string): Promise<Session> {
    const session = isUuid(id) ? await this.sessions.findWithInteractions(id, ownerId) : null;
    if (!session) throw sessionNotFound();
    return mapSession(session);
  }

  async rename(ownerId: string, id: string, name: string): Promise<Session> {
    const session = await this.sessions.transaction(async (manager) => {
      if (!isUuid(id) || !(await this.sessions.rename(manager, id, ownerId, name))) throw sessionNotFound();
      return mapSession((await this.sessions.findWithInteractions(id, ownerId, manager))!);
    });
    this.events.sessionChanged(session);
    return session;
  }

  async delete(ownerId: string, id: string): Promise<void> {
    const version = isUuid(id) ? await this.sessions.delete(id, ownerId) : null;
    if (version === null) throw sessionNotFound();
    // Deleting is a change too: it takes the next version.
    this.events.sessionDeleted(ownerId, id, version + 1);
  }

  async addInteraction(ownerId: string, sessionId: string, promptMessage: string): Promise<Interaction> {
    const created = isUuid(sessionId) ? await this.sessions.insertInteraction(sessionId, ownerId, randomUUID(), promptMessage) : null;
    if (!created) throw sessionNotFound();
    const interaction = mapInteraction(created.interaction);
    this.events.interactionChanged(ownerId, created.version, interaction);
    return interaction;
  }

  async updateInteraction(ownerId: string, sessionId: string, id: string, changes: UpdateInteractionDto): Promise<Interaction> {
    validateInteractionChanges(changes);
    const updated =
      isUuid(sessionId) && isUuid(id)
        ? await this.sessions.updateInteraction(sessionId, ownerId, id, {
            responseMessage: changes.response_message,
            append: changes.append,
            state: changes.state,
            error: changes.error,
          })
        : null;
    if (!updated) {
      // Nothing changed; only the error path pays for telling which of the two is missing.
      throw isUuid(sessionId) && (await this.sessions.exists(sessionId, ownerId)) ? new NotFoundException('interaction not found') : sessionNotFound();
    }
    const interaction = mapInteraction(updated.interaction);
    this.events.interactionChanged(ownerId, updated.version, interaction, appendDelta(changes));
    return interaction;
  }
}

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

function sessionNotFound(): NotFoundException {
  return new NotFoundException('session not found');
}

function parseLimit(value: unknown): number {
  if (value === undefined) return LIST_LIMIT_DEFAULT;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) < 1 || Number(value) > LIST_LIMIT_MAX) {
    throw new BadRequestException([`limit must be an integer from 1 to ${LIST_LIMIT_MAX}`]);
  }
  return Number(value);
}

function parseCursor(value: unknown) {
  if (value === undefined) return null;
  const position = typeof value === 'string' ? decodeCursor(value) : null;
  if (!position) throw new BadRequestException(['cursor must be a next_cursor value returned by this endpoint']);
  return position;
}

function validateInteractionChanges(changes: UpdateInteractionDto): void {
  const given = ['response_message', 'append', 'state', 'error'].filter((key) => key in changes && changes[key as keyof UpdateInteractionDto] !== undefined);
  if (given.length === 0) {
    throw new BadRequestException(['body must contain at least one of response_message, append, state, error']);
  }
  if (changes.response_message !== undefined && changes.append !== undefined) {
    throw new BadRequestException(['response_message and append cannot be used together']);
  }
}

/** The delta of a PATCH with `append` (with `state`/`error` only when it held them); none otherwise. */
function appendDelta(changes: UpdateInteractionDto): AppendDelta | undefined {
  if (changes.append === undefined) return undefined;
  const delta: AppendDelta = { append: changes.append };
  if (changes.state !== undefined) delta.state = changes.state;
  if (changes.error !== undefined) delta.error = changes.error;
  return delta;
}
