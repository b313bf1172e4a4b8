import {
  ErrorCode,
  ServerEvent,
  type Interaction,
  type InteractionUpdateEvent,
  type Session,
  type SessionUpdateEvent,
} from '../protocol/protocol.js';

/** Builders of the versioned frames: one shape for published changes and for snapshots. */

export function sessionStateFrame(session: Session, snapshot: boolean): SessionUpdateEvent {
  return { type: ServerEvent.SessionUpdate, session_id: session.id, owner: session.owner, version: session.version, snapshot, session };
}

/**
 * `session: null`. On connect (snapshot) to a session that is missing or foreign the answer
 * must not tell the two apart: owner null, version 0. The change published on DELETE carries
 * the real owner and the deletion's version.
 */
export function sessionGoneFrame(sessionId: string, deleted?: { owner: string; version: number }): SessionUpdateEvent {
  return {
    type: ServerEvent.SessionUpdate,
    session_id: sessionId,
    owner: deleted?.owner ?? null,
    version: deleted?.version ?? 0,
    snapshot: !deleted,
    session: null,
    error: { code: ErrorCode.SessionNotFound, message: deleted ? 'session was deleted' : 'session not found' },
  };
}

export function interactionFrame(owner: string, version: number, interaction: Interaction): InteractionUpdateEvent {
  return {
    type: ServerEvent.InteractionUpdate,
    session_id: interaction.session_id,
    owner,
    interaction_id: interaction.id,
    version,
    interaction,
  };
}
