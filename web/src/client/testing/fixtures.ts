import {
  ServerEvent,
  type Interaction,
  type InteractionAppendEvent,
  type InteractionUpdateEvent,
  type Session,
  type SessionUpdateEvent,
} from '../../../../src/protocol/protocol.js';

export const SESSION_ID = '11111111-1111-4111-8111-111111111111';
export const OWNER = '22222222-2222-4222-8222-222222222222';

export function interaction(n: number, patch: Partial<Interaction> = {}): Interaction {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    session_id: SESSION_ID,
    created: '2025-01-01T00:00:00.000Z',
    updated: '2025-01-01T00:00:00.000Z',
    prompt_message: `prompt ${n}`,
    response_message: '',
    state: 'waiting',
    error: '',
    version: 1,
    ...patch,
  };
}

export function session(version: number, interactions: Interaction[], patch: Partial<Session> = {}): Session {
  return {
    id: SESSION_ID,
    name: 'demo',
    owner: OWNER,
    version,
    created: '2025-01-01T00:00:00.000Z',
    updated: '2025-01-01T00:00:00.000Z',
    interactions,
    ...patch,
  };
}

/** A deep copy, as a fresh frame off the wire would be. */
export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export function sessionUpdate(version: number, s: Session | null, snapshot = true): SessionUpdateEvent {
  return {
    type: ServerEvent.SessionUpdate,
    session_id: SESSION_ID,
    owner: s ? OWNER : null,
    version,
    snapshot,
    session: s === null ? null : clone(s),
    ...(s === null ? { error: { code: 'session_not_found' as const, message: 'session not found' } } : {}),
  };
}

export function interactionUpdate(version: number, i: Interaction): InteractionUpdateEvent {
  return {
    type: ServerEvent.InteractionUpdate,
    session_id: SESSION_ID,
    owner: OWNER,
    interaction_id: i.id,
    version,
    interaction: clone(i),
  };
}

/** A delta snapshot: the first frame of a `since` connect, listing only `changed`. */
export function deltaUpdate(version: number, since: number, s: Session): SessionUpdateEvent {
  return { ...sessionUpdate(version, s), since };
}

export function interactionAppend(
  version: number,
  id: string,
  append: string,
  extra: Partial<Pick<InteractionAppendEvent, 'state' | 'error' | 'updated'>> = {},
): InteractionAppendEvent {
  return {
    type: ServerEvent.InteractionAppend,
    session_id: SESSION_ID,
    owner: OWNER,
    interaction_id: id,
    version,
    append,
    updated: `2025-01-01T00:00:${String(version % 60).padStart(2, '0')}.000Z`,
    ...extra,
  };
}
