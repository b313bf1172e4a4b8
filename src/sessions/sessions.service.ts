import { BadRequestException, Inject, Injectable, NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
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
} from './session.dto.js';
import { AppendConflictException } from './append-conflict.exception.js';
import { parseInteractionPatch, type InteractionPatch } from './interaction-patch.js';
import { SessionRepository, type AppendResult } from './session.repository.js';

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
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'responseMaxBytes'>,
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

  /**
   * Order of judgement: ids that cannot name anything (404), the body (400), the session and
   * interaction (404), then for `append` the offset (409) and the size cap (413).
   */
  async updateInteraction(ownerId: string, sessionId: string, id: string, body: unknown): Promise<Interaction> {
    if (!isUuid(sessionId)) throw sessionNotFound();
    if (!isUuid(id)) throw await this.interactionNotFound(ownerId, sessionId);
    const changes = parseInteractionPatch(body);
    if (changes.append !== undefined) return this.append(ownerId, sessionId, id, changes as InteractionPatch & { append: string });
    if (changes.response_message !== undefined) {
      const bytes = Buffer.byteLength(changes.response_message, 'utf8');
      if (bytes > this.config.responseMaxBytes) throw this.responseTooLarge(`response_message is ${bytes} bytes`);
    }
    const updated = await this.sessions.updateInteraction(sessionId, ownerId, id, {
      responseMessage: changes.response_message,
      state: changes.state,
      error: changes.error,
    });
    if (!updated) throw await this.interactionNotFound(ownerId, sessionId);
    const interaction = mapInteraction(updated.interaction);
    this.events.interactionChanged(ownerId, updated.version, interaction);
    return interaction;
  }

  /**
   * `append`, with `offset` and the size cap judged by the statement itself. The publisher
   * gets the delta beside the interaction: what the stream sends to `delta=append` sockets.
   */
  private async append(ownerId: string, sessionId: string, id: string, changes: InteractionPatch & { append: string }): Promise<Interaction> {
    const result: AppendResult = await this.sessions.appendToInteraction(sessionId, ownerId, id, {
      append: changes.append,
      offset: changes.offset,
      maxBytes: this.config.responseMaxBytes,
      state: changes.state,
      error: changes.error,
    });
    switch (result.outcome) {
      case 'missing':
        throw await this.interactionNotFound(ownerId, sessionId);
      case 'offset_mismatch':
        throw new AppendConflictException(result.length);
      case 'too_large':
        throw this.responseTooLarge(`append would make response_message ${result.length + Buffer.byteLength(changes.append, 'utf8')} bytes (from ${result.length})`);
    }
    const interaction = mapInteraction(result.interaction);
    const delta: AppendDelta = { append: changes.append };
    if (changes.state !== undefined) delta.state = changes.state;
    if (changes.error !== undefined) delta.error = changes.error;
    this.events.interactionChanged(ownerId, result.version, interaction, delta);
    return interaction;
  }

  /** 413 naming the field: the cap is a property of the stored text, not of the request body. */
  private responseTooLarge(what: string): PayloadTooLargeException {
    return new PayloadTooLargeException(`${what}, over the limit of ${this.config.responseMaxBytes} bytes (RESPONSE_MAX_BYTES)`);
  }

  /** Nothing changed; only the error path pays for telling which of the two is missing. */
  private async interactionNotFound(ownerId: string, sessionId: string): Promise<NotFoundException> {
    return (await this.sessions.exists(sessionId, ownerId)) ? new NotFoundException('interaction not found') : sessionNotFound();
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
