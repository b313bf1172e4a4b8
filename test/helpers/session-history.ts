import fc from 'fast-check';
import { encodeChange } from '../../src/events/change-message.js';
import { interactionFrame, sessionStateFrame, type AppendDelta } from '../../src/events/session-events.js';
import { INTERACTION_STATES, type Interaction, type InteractionState, type Session } from '../../src/protocol/protocol.js';
import type { Api } from './api.js';

/** One change to a session, as a writer makes it; `target` picks an existing interaction (modulo their number). */
export type HistoryOp =
  | { kind: 'create'; prompt: string }
  | { kind: 'append'; target: number; text: string; state?: InteractionState; error?: string }
  | { kind: 'patch'; target: number; response?: string; state?: InteractionState; error?: string }
  | { kind: 'rename'; name: string };

const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });
const state = fc.constantFrom(...INTERACTION_STATES);

export const historyOp: fc.Arbitrary<HistoryOp> = fc.oneof(
  fc.record({ kind: fc.constant('create' as const), prompt: text }),
  fc.record({ kind: fc.constant('append' as const), target: fc.nat(), text, state: fc.option(state, { nil: undefined }), error: fc.option(text, { nil: undefined }) }, { requiredKeys: ['kind', 'target', 'text'] }),
  fc.record({ kind: fc.constant('patch' as const), target: fc.nat(), response: fc.option(text, { nil: undefined }), state: fc.option(state, { nil: undefined }), error: fc.option(fc.string(), { nil: undefined }) }, { requiredKeys: ['kind', 'target'] }),
  fc.record({ kind: fc.constant('rename' as const), name: text }),
);

export const history = fc.array(historyOp, { minLength: 0, maxLength: 40 });

/** Makes one generated change through REST, as `api`'s user. */
export async function writeOp(api: Api, sessionId: string, op: HistoryOp): Promise<void> {
  const { interactions } = await api.getSession(sessionId);
  if (op.kind === 'create') await api.addInteraction(sessionId, op.prompt);
  else if (op.kind === 'rename') await api.renameSession(sessionId, op.name);
  else if (interactions.length > 0) {
    const target = interactions[op.target % interactions.length].id;
    const body: Record<string, unknown> = op.kind === 'append' ? { append: op.text } : op.response !== undefined ? { response_message: op.response } : {};
    if (op.state !== undefined) body.state = op.state;
    if (op.error !== undefined) body.error = op.error;
    if (Object.keys(body).length > 0) await api.updateInteraction(sessionId, target, body);
  }
}

export interface ModelHistory {
  /** `states[v]`: the session at version v (index 0 unused). */
  states: Session[];
  /** `changes[v]`: the bus message of the change that made version v (v ≥ 2). */
  changes: Uint8Array[];
}

/**
 * What the database and the publisher do for a sequence of writes, in memory: each change
 * takes the next version and one timestamp, shared by the session's `updated` and the
 * changed interaction's `updated`.
 */
export function modelHistory(ops: HistoryOp[], owner = '00000000-0000-4000-8000-000000000001', id = '00000000-0000-4000-8000-0000000000aa'): ModelHistory {
  const clock = (version: number) => new Date(Date.UTC(2026, 10, 30, 0, 0, 0, version * 7)).toISOString();
  let session: Session = { id, name: 'start', owner, version: 1, created: clock(1), updated: clock(1), interactions: [] };
  const states: Session[] = [session, session];
  const changes: Uint8Array[] = [];
  for (const op of ops) {
    const version = session.version + 1;
    const now = clock(version);
    if (op.kind === 'rename') {
      session = { ...session, name: op.name, version, updated: now };
      changes[version] = encodeChange(sessionStateFrame(session, false));
    } else if (op.kind === 'create') {
      const interaction: Interaction = { id: `00000000-0000-4000-8000-${String(version).padStart(12, '0')}`, session_id: id, created: now, updated: now, prompt_message: op.prompt, response_message: '', state: 'waiting', error: '', version };
      session = { ...session, version, updated: now, interactions: [...session.interactions, interaction] };
      changes[version] = encodeChange(interactionFrame(owner, version, interaction));
    } else {
      if (session.interactions.length === 0) continue;
      const index = op.target % session.interactions.length;
      const before = session.interactions[index];
      const after: Interaction = { ...before, updated: now, version };
      let delta: AppendDelta | undefined;
      if (op.kind === 'append') {
        after.response_message = before.response_message + op.text;
        delta = { append: op.text };
      } else if (op.response !== undefined) after.response_message = op.response;
      if (op.state !== undefined) after.state = op.state;
      if (op.error !== undefined) after.error = op.error;
      if (delta && op.state !== undefined) delta.state = op.state;
      if (delta && op.error !== undefined) delta.error = op.error;
      const interactions = session.interactions.slice();
      interactions[index] = after;
      session = { ...session, version, updated: now, interactions };
      changes[version] = encodeChange(interactionFrame(owner, version, after), delta);
    }
    states[version] = session;
  }
  return { states, changes };
}

/**
 * The client's merge rule for a `since` snapshot: the delta's session fields, its
 * interactions replacing the known ones by id, new ones added after the existing ones.
 */
export function mergeDelta(held: Session, delta: Session): Session {
  const interactions = held.interactions.slice();
  for (const changed of delta.interactions) {
    const index = interactions.findIndex((known) => known.id === changed.id);
    if (index === -1) interactions.push(changed);
    else interactions[index] = changed;
  }
  return { ...delta, interactions };
}
