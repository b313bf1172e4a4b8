import { describe, expect, it, jest } from '@jest/globals';
import type { SessionRepository } from '../sessions/session.repository.js';
import { CrashWindowCheck } from './crash-window-check.js';
import type { SessionChannels } from './session-channels.js';

/** Channels that remember the highest version they have seen per session, as SessionChannels does. */
function fakeChannels(seen: Record<string, number>) {
  const resynced: string[] = [];
  const channels = {
    followedSessionIds: () => Object.keys(seen),
    resyncBehind: (current: Map<string, number>, checked: string[]) => {
      let count = 0;
      for (const id of checked) {
        const version = current.get(id);
        if (version !== undefined && version <= seen[id]) continue;
        resynced.push(id);
        count++;
      }
      return count;
    },
  };
  return { channels: channels as unknown as SessionChannels, resynced };
}

function check(seen: Record<string, number>, rounds: Record<string, number>[]) {
  const { channels, resynced } = fakeChannels(seen);
  const versions = jest.fn<SessionRepository['versions']>();
  for (const round of rounds) versions.mockResolvedValueOnce(new Map(Object.entries(round)));
  const unit = new CrashWindowCheck(channels, { versions } as unknown as SessionRepository, { fastVersionCheckMs: 700 });
  return { unit, resynced, versions };
}

describe('CrashWindowCheck', () => {
  it('re-snapshots a session still behind the version the database had one round earlier', async () => {
    const { unit, resynced } = check({ a: 3, b: 5 }, [{ a: 4, b: 5 }, { a: 4, b: 5 }]);
    expect(await unit.run()).toBe(0);
    expect(await unit.run()).toBe(1);
    expect(resynced).toEqual(['a']);
  });

  it('leaves a busy session alone while its newest change may still be on its way', async () => {
    const seen = { a: 3 };
    const { unit, resynced } = check(seen, [{ a: 4 }, { a: 6 }]);
    await unit.run();
    seen.a = 4; // the message of version 4 arrived between the rounds
    expect(await unit.run()).toBe(0);
    expect(resynced).toEqual([]);
  });

  it('does not hold a session followed only since the last round to an older reading', async () => {
    const seen: Record<string, number> = { a: 1 };
    const { unit, resynced } = check(seen, [{ a: 1 }, { a: 1, b: 9 }]);
    await unit.run();
    seen.b = 2; // newly followed; its own snapshot is what it holds
    expect(await unit.run()).toBe(0);
    expect(resynced).toEqual([]);
  });

  it('re-snapshots a session the database no longer has (deleted, its message lost)', async () => {
    const { unit, resynced } = check({ a: 2 }, [{}, {}]);
    await unit.run();
    expect(await unit.run()).toBe(1);
    expect(resynced).toEqual(['a']);
  });

  it('a failed read counts as no round at all', async () => {
    const { channels } = fakeChannels({ a: 1 });
    const versions = jest.fn<SessionRepository['versions']>().mockRejectedValue(new Error('database down'));
    const unit = new CrashWindowCheck(channels, { versions } as unknown as SessionRepository, { fastVersionCheckMs: 700 });
    expect(await unit.run()).toBe(0);
  });
});
