import { describe, expect, it } from '@jest/globals';
import {
  applyInteractionAppend,
  applyInteractionUpdate,
  applySessionUpdate,
  initialSessionState,
  type SessionState,
} from './reducer.js';
import { deltaUpdate, interaction, interactionAppend, interactionUpdate, session, sessionUpdate } from './testing/fixtures.js';

function loaded(version = 3): SessionState {
  const s = session(version, [interaction(1), interaction(2), interaction(3)]);
  return applySessionUpdate(initialSessionState, sessionUpdate(version, s)).state;
}

describe('applySessionUpdate', () => {
  it('applies the first snapshot', () => {
    const state = loaded(3);
    expect(state.version).toBe(3);
    expect(state.session?.interactions.map((i) => i.prompt_message)).toEqual(['prompt 1', 'prompt 2', 'prompt 3']);
    expect(state.gone).toBe(false);
  });

  it('returns the same state object for a duplicate or older version, whatever its content', () => {
    const state = loaded(3);
    const renamed = session(3, [], { name: 'other' });
    expect(applySessionUpdate(state, sessionUpdate(3, renamed)).state).toBe(state);
    expect(applySessionUpdate(state, sessionUpdate(2, renamed)).state).toBe(state);
  });

  it('returns the same state object for a redundant snapshot equal to the current state', () => {
    const state = loaded(3);
    const again = applySessionUpdate(state, sessionUpdate(3, session(3, [interaction(1), interaction(2), interaction(3)])));
    expect(again.state).toBe(state);
    expect(again.needSync).toBe(false);
  });

  it('keeps every equal interaction, and the array, when only the version moved', () => {
    const state = loaded(3);
    const next = applySessionUpdate(state, sessionUpdate(5, session(5, [interaction(1), interaction(2), interaction(3)]))).state;
    expect(next).not.toBe(state);
    expect(next.version).toBe(5);
    expect(next.session?.version).toBe(5);
    expect(next.session?.interactions).toBe(state.session?.interactions);
  });

  it('replaces only the interactions that differ in a newer snapshot', () => {
    const state = loaded(3);
    const changed = interaction(2, { state: 'complete', response_message: 'done' });
    const next = applySessionUpdate(state, sessionUpdate(4, session(4, [interaction(1), changed, interaction(3), interaction(4)]))).state;
    const [a, b, c, d] = next.session!.interactions;
    const old = state.session!.interactions;
    expect(a).toBe(old[0]);
    expect(b).not.toBe(old[1]);
    expect(b).toEqual(changed);
    expect(c).toBe(old[2]);
    expect(d.prompt_message).toBe('prompt 4');
  });

  it('drops the state on session: null at any version, even a lower one, and ignores later frames', () => {
    const state = loaded(7);
    const gone = applySessionUpdate(state, sessionUpdate(0, null)).state;
    expect(gone.session).toBeNull();
    expect(gone.gone).toBe(true);
    expect(applySessionUpdate(gone, sessionUpdate(0, null)).state).toBe(gone);
    expect(applySessionUpdate(gone, sessionUpdate(9, session(9, []))).state).toBe(gone);
    expect(applyInteractionUpdate(gone, interactionUpdate(8, interaction(1))).state).toBe(gone);
  });
});

describe('applyInteractionUpdate', () => {
  it('applies version last + 1, replacing only that interaction', () => {
    const state = loaded(3);
    const next = applyInteractionUpdate(state, interactionUpdate(4, interaction(2, { state: 'editing', response_message: 'hel' })));
    expect(next.needSync).toBe(false);
    expect(next.state.version).toBe(4);
    expect(next.state.session?.version).toBe(4);
    const [a, b, c] = next.state.session!.interactions;
    const old = state.session!.interactions;
    expect(a).toBe(old[0]);
    expect(c).toBe(old[2]);
    expect(b).not.toBe(old[1]);
    expect(b.response_message).toBe('hel');
    expect(state.session!.interactions[1].state).toBe('waiting');
  });

  it('appends an interaction it has not seen, keeping the others', () => {
    const state = loaded(3);
    const next = applyInteractionUpdate(state, interactionUpdate(4, interaction(4))).state;
    expect(next.session!.interactions).toHaveLength(4);
    expect(next.session!.interactions.slice(0, 3).every((i, n) => i === state.session!.interactions[n])).toBe(true);
  });

  it('keeps the interaction object when a change leaves its fields equal', () => {
    const state = loaded(3);
    const next = applyInteractionUpdate(state, interactionUpdate(4, interaction(3))).state;
    expect(next.version).toBe(4);
    expect(next.session!.interactions).toBe(state.session!.interactions);
  });

  it('returns the same state object for a duplicate', () => {
    const state = loaded(3);
    for (const v of [1, 2, 3]) {
      const r = applyInteractionUpdate(state, interactionUpdate(v, interaction(1, { state: 'error', error: 'x' })));
      expect(r.state).toBe(state);
      expect(r.needSync).toBe(false);
    }
  });

  it('reports a gap and does not apply it', () => {
    const state = loaded(3);
    const r = applyInteractionUpdate(state, interactionUpdate(5, interaction(1, { state: 'complete' })));
    expect(r.needSync).toBe(true);
    expect(r.state).toBe(state);
  });

  it('asks for a snapshot when there is no state to apply to', () => {
    const r = applyInteractionUpdate(initialSessionState, interactionUpdate(1, interaction(1)));
    expect(r).toEqual({ state: initialSessionState, needSync: true });
  });

  it('applies out-of-order frames only once the sequence is whole', () => {
    let state = loaded(3);
    const v5 = interactionUpdate(5, interaction(1, { response_message: 'b' }));
    const v4 = interactionUpdate(4, interaction(1, { response_message: 'a' }));
    expect(applyInteractionUpdate(state, v5).needSync).toBe(true);
    state = applyInteractionUpdate(state, v4).state;
    state = applyInteractionUpdate(state, v5).state;
    expect(state.version).toBe(5);
    expect(state.session!.interactions[0].response_message).toBe('b');
    expect(applyInteractionUpdate(state, v4).state).toBe(state);
  });
});

describe('applySessionUpdate with a delta snapshot (since)', () => {
  it('replaces known interactions where they stand and adds new ones at the end, in order', () => {
    const state = loaded(3);
    const changed = interaction(2, { response_message: 'now', state: 'complete', version: 4 });
    const delta = deltaUpdate(6, 3, session(6, [changed, interaction(4, { version: 5 }), interaction(5, { version: 6 })], { name: 'renamed' }));
    const { state: next, needSync } = applySessionUpdate(state, delta);
    const old = state.session!.interactions;
    expect(needSync).toBe(false);
    expect(next.version).toBe(6);
    expect(next.session!.name).toBe('renamed');
    expect(next.session!.interactions.map((i) => i.prompt_message)).toEqual(['prompt 1', 'prompt 2', 'prompt 3', 'prompt 4', 'prompt 5']);
    expect(next.session!.interactions[0]).toBe(old[0]);
    expect(next.session!.interactions[1]).toEqual(changed);
    expect(next.session!.interactions[2]).toBe(old[2]);
  });

  it('keeps the session object for an empty delta at the held version', () => {
    const state = loaded(3);
    const r = applySessionUpdate(state, deltaUpdate(3, 3, session(3, [])));
    expect(r).toEqual({ state, needSync: false });
    expect(r.state).toBe(state);
  });

  it('keeps the interactions array when only session fields moved', () => {
    const state = loaded(3);
    const next = applySessionUpdate(state, deltaUpdate(4, 3, session(4, [], { name: 'x' }))).state;
    expect(next.session!.name).toBe('x');
    expect(next.session!.interactions).toBe(state.session!.interactions);
  });

  it('merges a delta from an older since (a superset of what changed after the held version)', () => {
    const state = loaded(5);
    const next = applySessionUpdate(state, deltaUpdate(6, 2, session(6, [interaction(3), interaction(4, { version: 6 })]))).state;
    expect(next.session!.interactions.map((i) => i.prompt_message)).toEqual(['prompt 1', 'prompt 2', 'prompt 3', 'prompt 4']);
    expect(next.session!.interactions[2]).toBe(state.session!.interactions[2]);
  });

  it('refuses a delta from beyond the held version, or with no state, and asks for a snapshot', () => {
    const state = loaded(3);
    expect(applySessionUpdate(state, deltaUpdate(6, 4, session(6, [interaction(4)])))).toEqual({ state, needSync: true });
    expect(applySessionUpdate(initialSessionState, deltaUpdate(6, 4, session(6, [interaction(4)])))).toEqual({
      state: initialSessionState,
      needSync: true,
    });
  });

  it('treats a delta at or below the held version as a duplicate', () => {
    const state = loaded(5);
    expect(applySessionUpdate(state, deltaUpdate(5, 5, session(5, [])))).toEqual({ state, needSync: false });
    expect(applySessionUpdate(state, deltaUpdate(4, 6, session(4, [])))).toEqual({ state, needSync: false });
  });

  it('lets a full snapshot (no since) replace the state as before', () => {
    const state = loaded(3);
    const next = applySessionUpdate(state, sessionUpdate(4, session(4, [interaction(9)]))).state;
    expect(next.session!.interactions.map((i) => i.prompt_message)).toEqual(['prompt 9']);
  });
});

describe('applyInteractionAppend', () => {
  const idOf = (n: number) => interaction(n).id;

  it('appends at last + 1, setting updated and version, keeping every other interaction', () => {
    const state = loaded(3);
    const r = applyInteractionAppend(state, interactionAppend(4, idOf(2), 'Hel'));
    expect(r.needSync).toBe(false);
    const [a, b, c] = r.state.session!.interactions;
    const old = state.session!.interactions;
    expect(a).toBe(old[0]);
    expect(c).toBe(old[2]);
    expect(b).toEqual({ ...old[1], response_message: 'Hel', updated: interactionAppend(4, idOf(2), '').updated, version: 4 });
    expect(r.state.version).toBe(4);
    expect(r.state.session!.version).toBe(4);
    const again = applyInteractionAppend(r.state, interactionAppend(5, idOf(2), 'lo ✓ 👋'));
    expect(again.state.session!.interactions[1].response_message).toBe('Hello ✓ 👋');
    expect(again.state.session!.interactions[1].state).toBe('waiting');
  });

  it('sets state and error only when the frame holds them', () => {
    const state = loaded(3);
    const r = applyInteractionAppend(state, interactionAppend(4, idOf(1), '!', { state: 'error', error: 'out of tokens' }));
    expect(r.state.session!.interactions[0]).toMatchObject({ response_message: '!', state: 'error', error: 'out of tokens' });
    const cleared = applyInteractionAppend(r.state, interactionAppend(5, idOf(1), '', { state: 'editing', error: '' }));
    expect(cleared.state.session!.interactions[0]).toMatchObject({ response_message: '!', state: 'editing', error: '' });
  });

  it('treats a version at or below the held one as a duplicate', () => {
    const state = loaded(3);
    for (const v of [1, 2, 3]) expect(applyInteractionAppend(state, interactionAppend(v, idOf(1), 'x'))).toEqual({ state, needSync: false });
  });

  it('reports a gap (version beyond last + 1, unknown interaction, no state) without applying', () => {
    const state = loaded(3);
    expect(applyInteractionAppend(state, interactionAppend(5, idOf(1), 'x'))).toEqual({ state, needSync: true });
    expect(applyInteractionAppend(state, interactionAppend(4, idOf(9), 'x'))).toEqual({ state, needSync: true });
    expect(applyInteractionAppend(initialSessionState, interactionAppend(1, idOf(1), 'x'))).toEqual({
      state: initialSessionState,
      needSync: true,
    });
  });

  it('does nothing once the session is gone', () => {
    const gone = applySessionUpdate(loaded(3), sessionUpdate(4, null)).state;
    expect(applyInteractionAppend(gone, interactionAppend(5, idOf(1), 'x'))).toEqual({ state: gone, needSync: false });
  });
});
