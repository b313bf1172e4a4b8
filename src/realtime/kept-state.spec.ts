import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { history, modelHistory } from '../../test/helpers/session-history.js';
import { ChangeMessage } from '../events/change-message.js';
import { KeptState } from './kept-state.js';
import { Snapshot } from './snapshot.js';

const decode = (payload: Uint8Array) => ChangeMessage.decode(payload)!;

describe('KeptState', () => {
  let drops: string[];
  beforeEach(() => {
    jest.useFakeTimers();
    drops = [];
  });
  afterEach(() => {
    jest.useRealTimers();
  });
  const kept = () => new KeptState(100, (reason) => void drops.push(reason));

  it('advanced from any read by the later changes, in any order within the gap wait, equals the final state', () => {
    fc.assert(
      fc.property(history, fc.nat(), fc.array(fc.nat()), (ops, pick, shuffle) => {
        const { states, changes } = modelHistory(ops);
        const final = states.at(-1)!;
        const from = 1 + (pick % final.version);
        const state = kept();
        state.readStarted();
        // Changes before and after the read's version arrive while it runs, some twice, out of order.
        const order = changes.map((_, version) => version).filter((version) => version !== undefined && version >= 2);
        for (let i = 0; i < shuffle.length && order.length > 1; i++) {
          const a = shuffle[i] % order.length;
          const b = (a + 1) % order.length;
          [order[a], order[b]] = [order[b], order[a]];
        }
        const half = Math.floor(order.length / 2);
        for (const version of order.slice(0, half)) state.push(decode(changes[version]));
        state.readLanded(new Snapshot(final.id, states[from]));
        for (const version of [...order.slice(half), ...order.slice(0, 2)]) state.push(decode(changes[version]));
        expect(drops).toEqual([]);
        expect(state.current?.session).toEqual(final);
        expect(state.current!.frame().toString()).toBe(new Snapshot(final.id, final).frame().toString());
      }),
      { numRuns: 300 },
    );
  });

  it('is not served while a version is missing, and is forgotten when the gap does not fill', () => {
    const { states, changes } = modelHistory([{ kind: 'create', prompt: 'a' }, { kind: 'create', prompt: 'b' }, { kind: 'create', prompt: 'c' }]);
    const state = kept();
    state.readStarted();
    state.readLanded(new Snapshot(states[2].id, states[2]));
    state.push(decode(changes[4]));
    expect(state.current).toBeUndefined();
    jest.advanceTimersByTime(99);
    state.push(decode(changes[3]));
    expect(state.current?.version).toBe(4);
    jest.advanceTimersByTime(1000);
    expect(drops).toEqual([]);

    const other = kept();
    other.readStarted();
    other.readLanded(new Snapshot(states[2].id, states[2]));
    other.push(decode(changes[4]));
    jest.advanceTimersByTime(100);
    expect(drops).toEqual(['a version gap did not fill']);
    other.push(decode(changes[3]));
    expect(other.current).toBeUndefined();
  });

  it('ignores changes while it holds no state and no read is under way', () => {
    const { states, changes } = modelHistory([{ kind: 'create', prompt: 'a' }, { kind: 'create', prompt: 'b' }]);
    const state = kept();
    state.push(decode(changes[2]));
    state.readStarted();
    state.readLanded(new Snapshot(states[2].id, states[2]));
    state.push(decode(changes[3]));
    expect(state.current?.session).toEqual(states[3]);
  });

  it('forgets the state on the deletion and on a missing-session read, never serving it', () => {
    const { states } = modelHistory([]);
    const state = kept();
    state.readStarted();
    state.readLanded(new Snapshot(states[1].id, states[1]));
    state.readStarted();
    state.readLanded(new Snapshot(states[1].id, null));
    expect(state.current).toBeUndefined();
    expect(drops).toEqual(['session not found']);
  });
});
