import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { history, mergeDelta, modelHistory } from '../../test/helpers/session-history.js';
import { changedSince, Snapshot } from './snapshot.js';

describe('changedSince (the since rule)', () => {
  it('merged into the state held at since, gives the full state, for any history and since', () => {
    fc.assert(
      fc.property(history, fc.nat(), (ops, pick) => {
        const { states } = modelHistory(ops);
        const final = states.at(-1)!;
        const since = 1 + (pick % (final.version + 3));
        const delta = changedSince(final, since);
        if (since > final.version) return delta === null;
        expect(mergeDelta(states[since], delta!)).toEqual(final);
        expect(delta!.interactions.every((interaction) => interaction.version > since)).toBe(true);
        return true;
      }),
      { numRuns: 500 },
    );
  });
});

describe('Snapshot frames', () => {
  const { states } = modelHistory([
    { kind: 'create', prompt: 'a' },
    { kind: 'create', prompt: 'b' },
    { kind: 'append', target: 0, text: 'x' },
  ]);
  const snapshot = new Snapshot(states[4].id, states[4]);

  it('is a delta with `since` up to the version, full beyond it', () => {
    const delta = JSON.parse(snapshot.frame(2).toString());
    expect(delta).toMatchObject({ type: 'session_update', version: 4, snapshot: true, since: 2 });
    expect(delta.session.interactions.map((i: { version: number }) => i.version)).toEqual([4, 3]);
    expect(JSON.parse(snapshot.frame(4).toString()).session.interactions).toEqual([]);
    const full = JSON.parse(snapshot.frame(5).toString());
    expect(full).not.toHaveProperty('since');
    expect(full.session).toEqual(states[4]);
  });

  it('builds each distinct frame once', () => {
    expect(snapshot.frame(2)).toBe(snapshot.frame(2));
    expect(snapshot.frame()).toBe(snapshot.frame(99));
  });

  it('answers a missing session the same whatever since', () => {
    const gone = new Snapshot('s', null);
    expect(gone.frame(3)).toBe(gone.frame());
    expect(JSON.parse(gone.frame().toString())).toMatchObject({ owner: null, version: 0, snapshot: true, session: null });
  });
});
