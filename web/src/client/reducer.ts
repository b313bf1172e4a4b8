/**
 * Pure application of server frames to the client's copy of a session, following the
 * protocol's client rules. Results share structure with the previous state: an interaction
 * whose fields did not change stays the same object, and a frame that changes nothing returns
 * the very same state object, so views keyed on identity skip work.
 */
import type {
  Interaction,
  InteractionAppendEvent,
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
  'id', 'session_id', 'created', 'updated', 'prompt_message', 'response_message', 'state', 'error', 'version',
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

/**
 * `delta` (the interactions changed after some version, in creation order) merged into
 * `prev`: a known id is replaced where it stands, an unknown one is added after the existing
 * ones. Unchanged interactions, and the array itself when nothing differs, are kept.
 */
export function mergeInteractions(prev: readonly Interaction[], delta: readonly Interaction[]): Interaction[] {
  if (delta.length === 0) return prev as Interaction[];
  const at = new Map(prev.map((i, n) => [i.id, n]));
  let merged: Interaction[] | null = null;
  for (const next of delta) {
    const n = at.get(next.id);
    if (n === undefined) {
      merged ??= prev.slice();
      at.set(next.id, merged.length);
      merged.push(next);
      continue;
    }
    const current = (merged ?? prev)[n];
    const kept = reuseInteraction(current, next);
    if (kept === current) continue;
    merged ??= prev.slice();
    merged[n] = kept;
  }
  return merged ?? (prev as Interaction[]);
}

/**
 * A full state (snapshot or published change), or a delta snapshot (`since` set, the first
 * frame of a `since=V` connect). `session: null` drops the state at any version.
 *
 * A delta lists the interactions changed after its `since`, so merging it is right only into
 * a full state at a version ≥ `since` (an interaction changed after the held version also
 * changed after `since`, and one unknown here was created after it, so it belongs at the
 * end). Into no state, or a state older than `since`, it would show a state the session never
 * had: it is not applied, and the caller asks for a full snapshot (`needSync`). The client
 * sends `since` = its own version, so this only happens with a server that answers another
 * `since` than it was asked for.
 */
export function applySessionUpdate(state: SessionState, ev: SessionUpdateEvent): ApplyResult {
  if (ev.session === null) {
    if (state.gone) return { state, needSync: false };
    return { state: { session: null, version: Math.max(state.version, ev.version), gone: true }, needSync: false };
  }
  if (state.gone || ev.version <= state.version) return { state, needSync: false };
  if (typeof ev.since === 'number') {
    if (state.session === null || ev.since > state.version) return { state, needSync: true };
    const interactions = mergeInteractions(state.session.interactions, ev.session.interactions ?? []);
    const session = reuseSession(state.session, { ...ev.session, interactions });
    return { state: { session, version: ev.version, gone: false }, needSync: false };
  }
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

/**
 * Text appended to one interaction (`delta=append` connections): applied only at exactly
 * last + 1 and to an interaction held already, since the frame carries the change, not the
 * state. Only that interaction (and the array and session holding it) become new objects.
 */
export function applyInteractionAppend(state: SessionState, ev: InteractionAppendEvent): ApplyResult {
  if (state.gone || ev.version <= state.version) return { state, needSync: false };
  if (state.session === null || ev.version > state.version + 1) return { state, needSync: true };

  const prev = state.session.interactions;
  const at = prev.findIndex((i) => i.id === ev.interaction_id);
  // An unknown interaction means its creation was missed: the text alone cannot rebuild it.
  if (at === -1) return { state, needSync: true };
  const old = prev[at];
  const next: Interaction = {
    ...old,
    response_message: old.response_message + ev.append,
    updated: ev.updated,
    version: ev.version,
    ...(ev.state !== undefined ? { state: ev.state } : {}),
    ...(ev.error !== undefined ? { error: ev.error } : {}),
  };
  const interactions = prev.slice();
  interactions[at] = next;
  const session = { ...state.session, version: ev.version, interactions };
  return { state: { session, version: ev.version, gone: false }, needSync: false };
}
