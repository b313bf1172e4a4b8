import {
  ErrorCode,
  ServerEvent,
  type Interaction,
  type InteractionAppendEvent,
  type InteractionState,
  type InteractionUpdateEvent,
  type Session,
  type SessionUpdateEvent,
} from '../protocol/protocol.js';

/** Builders of the versioned frames: one shape for published changes and for snapshots. */

/**
 * Full session state; with `since` (a delta snapshot, first frame of a `since=V` connect),
 * `session.interactions` holds only what changed after V (see changedSince).
 */
export function sessionStateFrame(session: Session, snapshot: boolean, since?: number): SessionUpdateEvent {
  if (since === undefined) return { type: ServerEvent.SessionUpdate, session_id: session.id, owner: session.owner, version: session.version, snapshot, session };
  return { type: ServerEvent.SessionUpdate, session_id: session.id, owner: session.owner, version: session.version, snapshot, since, session };
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

/** What a PATCH with `append` changed, as the write path hands it to the publisher. */
export interface AppendDelta {
  append: string;
  /** Present only when the PATCH body held `state`. */
  state?: InteractionState;
  /** Present only when the PATCH body held `error`. */
  error?: string;
}

/**
 * The `delta=append` form of an append: the chunk instead of the whole interaction. `state`
 * and `error` appear only when the PATCH held them, so a client can tell "unchanged" from
 * "set to the same value".
 */
export function interactionAppendFrame(owner: string, version: number, interaction: Interaction, delta: AppendDelta): InteractionAppendEvent {
  const frame: InteractionAppendEvent = {
    type: ServerEvent.InteractionAppend,
    session_id: interaction.session_id,
    owner,
    interaction_id: interaction.id,
    version,
    append: delta.append,
    updated: interaction.updated,
  };
  if (delta.state !== undefined) frame.state = delta.state;
  if (delta.error !== undefined) frame.error = delta.error;
  return frame;
}
