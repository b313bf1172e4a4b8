import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  ServerEvent,
  type Interaction,
  type InteractionState,
  type Session,
  type SessionUpdateEvent,
} from '../../../src/protocol/protocol.js';
import { applyInteractionAppend, applyInteractionUpdate, applySessionUpdate, initialSessionState, type ApplyResult, type SessionState } from './reducer.js';
import { OWNER, SESSION_ID, clone, interaction, interactionAppend, interactionUpdate, sessionUpdate } from './testing/fixtures.js';

/**
 * The reducer against a reference: a tiny model of the server that keeps the full state at
 * every version of a random history, and the frames it would have sent for it.
 */

type Op =
  | { kind: 'create'; prompt: string }
  | { kind: 'append'; target: number; text: string; state?: InteractionState; error?: string }
  | { kind: 'set'; target: number; response: string; state: InteractionState }
  | { kind: 'rename'; name: string };

type Frame = Parameters<typeof applyFrame>[1];

const STATES: InteractionState[] = ['waiting', 'editing', 'complete', 'error'];
const at = (version: number) => new Date(Date.UTC(2025, 0, 1) + version * 1000).toISOString();

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('create' as const), prompt: fc.string({ minLength: 1, maxLength: 8 }) }),
  fc.record(
    {
      kind: fc.constant('append' as const),
      target: fc.nat(),
      text: fc.string({ unit: 'grapheme', maxLength: 6 }),
      state: fc.constantFrom(...STATES),
      error: fc.string({ maxLength: 4 }),
    },
    { requiredKeys: ['kind', 'target', 'text'] },
  ),
  fc.record({ kind: fc.constant('set' as const), target: fc.nat(), response: fc.string({ maxLength: 8 }), state: fc.constantFrom(...STATES) }),
  fc.record({ kind: fc.constant('rename' as const), name: fc.string({ minLength: 1, maxLength: 8 }) }),
);

interface History {
  /** `states[v]` is the full session at version v (index 0 unused). */
  states: Session[];
  /** `frames[v]` is the published frame that made version v (v ≥ 2). */
  frames: Frame[];
}

function play(ops: Op[]): History {
  let current: Session = { id: SESSION_ID, name: 'start', owner: OWNER, version: 1, created: at(1), updated: at(1), interactions: [] };
  const states: Session[] = [current, current];
  const frames: Frame[] = [];
  for (const op of ops) {
    const version = current.version + 1;
    const interactions = current.interactions.slice();
    let frame: Frame;
    if (op.kind === 'rename') {
      current = { ...current, name: op.name, version, updated: at(version) };
      frame = { ...sessionUpdate(version, current, false) };
    } else if (op.kind === 'create' || interactions.length === 0) {
      const created = interaction(interactions.length + 1, { created: at(version), updated: at(version), version, prompt_message: op.kind === 'create' ? op.prompt : 'p' });
      interactions.push(created);
      current = { ...current, version, updated: at(version), interactions };
      frame = interactionUpdate(version, created);
    } else {
      const n = op.target % interactions.length;
      const old = interactions[n];
      if (op.kind === 'append') {
        interactions[n] = {
          ...old,
          response_message: old.response_message + op.text,
          updated: at(version),
          version,
          ...(op.state !== undefined ? { state: op.state } : {}),
          ...(op.error !== undefined ? { error: op.error } : {}),
        };
        frame = interactionAppend(version, old.id, op.text, { updated: at(version), ...(op.state !== undefined ? { state: op.state } : {}), ...(op.error !== undefined ? { error: op.error } : {}) });
      } else {
        interactions[n] = { ...old, response_message: op.response, state: op.state, updated: at(version), version };
        frame = interactionUpdate(version, interactions[n]);
      }
      current = { ...current, version, updated: at(version), interactions };
    }
    states.push(current);
    frames.push(frame);
  }
  return { states, frames };
}

function applyFrame(state: SessionState, frame: SessionUpdateEvent | ReturnType<typeof interactionUpdate> | ReturnType<typeof interactionAppend>): ApplyResult {
  switch (frame.type) {
    case ServerEvent.SessionUpdate:
      return applySessionUpdate(state, frame);
    case ServerEvent.InteractionUpdate:
      return applyInteractionUpdate(state, frame);
    case ServerEvent.InteractionAppend:
      return applyInteractionAppend(state, frame);
  }
}

/** The full state the client gets at connect at version v. */
const fullAt = (h: History, v: number) => applySessionUpdate(initialSessionState, sessionUpdate(v, h.states[v])).state;

/** Interaction frames do not carry the session's own `updated`: everything else must match. */
const comparable = (s: Session | null) => s && { ...s, updated: '(not carried by interaction frames)' };

describe('reducer properties', () => {
  it('a delta snapshot merged into the state at `since` equals the full snapshot, and keeps what did not change', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), fc.nat(), (ops, pick) => {
        const h = play(ops);
        const current = h.states.length - 1;
        const since = 1 + (pick % current);
        const held = fullAt(h, since);
        const latest = h.states[current];
        const delta: SessionUpdateEvent = {
          ...sessionUpdate(current, { ...latest, interactions: latest.interactions.filter((i) => i.version > since) }),
          since,
        };
        const { state, needSync } = applySessionUpdate(held, delta);
        expect(needSync).toBe(false);
        expect(state.version).toBe(current);
        expect(state.session).toEqual(h.states[current]);
        const before = new Map(held.session!.interactions.map((i) => [i.id, i]));
        for (const i of state.session!.interactions) {
          if (i.version <= since) expect(i).toBe(before.get(i.id));
        }
        if (since === current) expect(state).toBe(held);
      }),
      { numRuns: 300 },
    );
  });

  it('frames lost, repeated and reordered end in the reference state, and never show a state the session did not have', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 1, maxLength: 40 }),
        fc.array(fc.constantFrom('deliver', 'drop', 'twice', 'swap'), { minLength: 40, maxLength: 40 }),
        fc.nat(),
        (ops, fates, start) => {
          const h = play(ops);
          const current = h.states.length - 1;
          const from = 1 + (start % current);
          // What reaches the client: every frame after its snapshot, some lost, doubled or
          // swapped with the next; the last one always arrives (otherwise only the server's
          // own re-snapshot could tell the client, which is not the reducer's business).
          const pending = h.frames.slice(from - 1).map(clone);
          const wire: Frame[] = [];
          for (let n = 0; n < pending.length; n++) {
            const fate = n === pending.length - 1 ? 'deliver' : fates[n % fates.length];
            if (fate === 'drop') continue;
            if (fate === 'swap' && n + 1 < pending.length) {
              wire.push(pending[n + 1], pending[n]);
              n++;
              continue;
            }
            wire.push(pending[n]);
            if (fate === 'twice') wire.push(clone(pending[n]));
          }

          let state = fullAt(h, from);
          let syncs = 0;
          for (const frame of wire) {
            const before = state;
            const result = applyFrame(state, frame);
            state = result.state;
            if (result.needSync) {
              expect(state).toBe(before);
              syncs++;
              // The server answers `sync` with its state at the newest version it has sent.
              const newest = Math.max(...wire.slice(0, wire.indexOf(frame) + 1).map((f) => f.version));
              state = applySessionUpdate(state, sessionUpdate(newest, h.states[newest])).state;
            } else if (state !== before && frame.type !== ServerEvent.SessionUpdate) {
              // Only the interaction the frame names is a new object.
              const untouched = state.session!.interactions.filter((i) => i.id !== frame.interaction_id);
              const old = new Map(before.session!.interactions.map((i) => [i.id, i]));
              for (const i of untouched) expect(i).toBe(old.get(i.id));
            }
            expect(comparable(state.session)).toEqual(comparable(h.states[state.version]));
          }
          expect(state.version).toBe(current);
          expect(comparable(state.session)).toEqual(comparable(h.states[current]));
          if (wire.length === pending.length && wire.every((f, n) => f === pending[n])) expect(syncs).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
