/**
 * Pure application of server frames to the client's copy of a session, following the
 * protocol's client rules. Results share structure with the previous state: an interaction
 * whose fields did not change stays the same object, and a frame that changes nothing returns
 * the very same state object, so views keyed on identity skip work.
 */
import type {
  Interaction,
  InteractionUpdateEvent,
  Session,
  SessionUpdateEvent,
} from '../../../src/protocol/protocol.js';

export interface SessionState {
  /** `null` before the first snapshot and once the session is gone. */
  session: Session | null;
  /** Last applied version; every frame at or below it is a duplicate. */
  version: number;
  /** The server said the session does not exist; nothing applies after this. */
  gone: boolean;
}

export interface ApplyResult {
  state: SessionState;
  /** Updates were missed: ask for a snapshot (`sync`). The frame was not applied. */
  needSync: boolean;
}

export const initialSessionState: SessionState = Object.freeze({ session: null, version: 0, gone: false });

const INTERACTION_FIELDS: readonly (keyof Interaction)[] = [
  'id', 'session_id', 'created', 'updated', 'prompt_message', 'response_message', 'state', 'error',
];
const SESSION_FIELDS: readonly (keyof Session)[] = ['id', 'name', 'owner', 'version', 'created', 'updated'];

function sameFields<T>(a: T, b: T, fields: readonly (keyof T)[]): boolean {
  return fields.every((f) => a[f] === b[f]);
}

/** `next`, or `prev` when every field is equal. */
export function reuseInteraction(prev: Interaction | undefined, next: Interaction): Interaction {
  return prev !== undefined && sameFields(prev, next, INTERACTION_FIELDS) ? prev : next;
}

/** `next` with equal interactions replaced by the previous objects; `prev` if all are equal. */
export function reuseInteractions(prev: readonly Interaction[], next: readonly Interaction[]): Interaction[] {
  const byId = new Map(prev.map((i) => [i.id, i]));
  const merged = next.map((i) => reuseInteraction(byId.get(i.id), i));
  const unchanged = merged.length === prev.length && merged.every((i, n) => i === prev[n]);
  return unchanged ? (prev as Interaction[]) : merged;
}

export function reuseSession(prev: Session | null, next: Session): Session {
  if (prev === null) return next;
  const interactions = reuseInteractions(prev.interactions, next.interactions ?? []);
  if (interactions === prev.interactions && sameFields(prev, next, SESSION_FIELDS)) return prev;
  return { ...next, interactions };
}

/** A full state (snapshot or published change). `session: null` drops the state at any version. */
export function applySessionUpdate(state: SessionState, ev: SessionUpdateEvent): ApplyResult {
  if (ev.session === null) {
    if (state.gone) return { state, needSync: false };
    return { state: { session: null, version: Math.max(state.version, ev.version), gone: true }, needSync: false };
  }
  if (state.gone || ev.version <= state.version) return { state, needSync: false };
  const session = reuseSession(state.session, ev.session);
  return { state: { session, version: ev.version, gone: false }, needSync: false };
}

/** One interaction's new state: applied only at exactly last + 1. */
export function applyInteractionUpdate(state: SessionState, ev: InteractionUpdateEvent): ApplyResult {
  if (state.gone || ev.version <= state.version) return { state, needSync: false };
  // Without a base state, or past a hole in the sequence, applying would show a state the
  // session never had.
  if (state.session === null || ev.version > state.version + 1) return { state, needSync: true };

  const prev = state.session.interactions;
  const at = prev.findIndex((i) => i.id === ev.interaction_id);
  let interactions = prev;
  if (at === -1) {
    interactions = [...prev, ev.interaction];
  } else {
    const next = reuseInteraction(prev[at], ev.interaction);
    if (next !== prev[at]) interactions = prev.map((i, n) => (n === at ? next : i));
  }
  const session = { ...state.session, version: ev.version, interactions };
  return { state: { session, version: ev.version, gone: false }, needSync: false };
}
