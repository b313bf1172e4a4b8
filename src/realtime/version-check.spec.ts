import { describe, expect, it, jest } from '@jest/globals';
import type { SessionRepository } from '../sessions/session.repository.js';
import type { SessionChannels } from './session-channels.js';
import { VersionCheck } from './version-check.js';

function check(followed: string[], database: Record<string, number>) {
  const behindOf = jest.fn<SessionChannels['behindOf']>((current, checked) => checked.filter((id) => current.get(id) !== 1));
  const resyncBehind = jest.fn<SessionChannels['resyncBehind']>((current, checked) => checked.filter((id) => current.get(id) !== 1).length);
  const channels = { followedSessionIds: () => followed, behindOf, resyncBehind } as unknown as SessionChannels;
  const versions = jest.fn<SessionRepository['versions']>(async (ids) => new Map(ids.filter((id) => id in database).map((id) => [id, database[id]])));
  const unit = new VersionCheck(channels, { versions } as unknown as SessionRepository, { versionCheckIntervalMs: 30_000 });
  unit.graceMs = 0;
  return { unit, behindOf, resyncBehind, versions };
}

describe('VersionCheck', () => {
  it('reads the versions a thousand sessions at a time and holds every followed channel to the database now', async () => {
    const followed = Array.from({ length: 2500 }, (_, i) => `s${i}`);
    const database = Object.fromEntries(followed.map((id) => [id, 1]));
    database.s7 = 2;
    delete database.s2400;
    const { unit, behindOf, resyncBehind, versions } = check(followed, database);
    expect(await unit.run()).toBe(2);
    expect(versions.mock.calls.map(([ids]) => ids.length)).toEqual([1000, 1000, 500]);
    expect(behindOf.mock.calls[0][1]).toEqual(followed);
    // Only the sessions found behind are judged again after the grace.
    expect(resyncBehind).toHaveBeenCalledTimes(1);
    expect(resyncBehind.mock.calls[0][1]).toEqual(['s7', 's2400']);
  });

  it('runs one round at a time', async () => {
    const { unit, versions } = check(['a'], { a: 1 });
    const [first, second] = [unit.run(), unit.run()];
    expect(await second).toBe(0);
    await first;
    expect(versions).toHaveBeenCalledTimes(1);
  });

  it('a failed read re-snapshots nothing and the next round reads again', async () => {
    const { unit, resyncBehind, versions } = check(['a'], { a: 2 });
    versions.mockRejectedValueOnce(new Error('database down'));
    expect(await unit.run()).toBe(0);
    expect(resyncBehind).not.toHaveBeenCalled();
    expect(await unit.run()).toBe(1);
  });
});
