import { describe, expect, it } from '@jest/globals';
import { SessionRepository } from '../src/sessions/session.repository.js';
import { SnapshotReader } from '../src/realtime/snapshot-reader.js';
import { useTestApp } from './helpers/app.js';

describe('the snapshot read', () => {
  const fx = useTestApp('reader');

  it('reads a session with all its interactions, oldest first, in ONE SQL statement', async () => {
    const session = await fx.user.createSession();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await fx.user.addInteraction(session.id, `p${i}`)).id);
    const repository = fx.app.get(SessionRepository);
    const before = fx.app.statements.count;
    const entity = await repository.findWithInteractions(session.id, fx.user.userId);
    expect(fx.app.statements.count - before).toBe(1);
    expect(entity!.version).toBe(6);
    expect(entity!.interactions.map((i) => i.id)).toEqual(ids);
  });

  it('answers a missing or foreign session with one statement too', async () => {
    const other = await fx.app.newUser('other');
    const foreign = await other.createSession();
    const reader = fx.app.get(SnapshotReader);
    const before = fx.app.statements.count;
    const snapshot = await reader.read(fx.user.userId, foreign.id);
    expect(fx.app.statements.count - before).toBe(1);
    expect(snapshot.exists).toBe(false);
    expect(JSON.parse(snapshot.frame().toString())).toMatchObject({ owner: null, version: 0, session: null });
  });

  it('builds the snapshot frame of the committed state, in one statement, whatever the text holds', async () => {
    const awkward = 'quote " backslash \\ newline \n tab \t bell \u0007 nul-free é 😀 </script> \u2028';
    const session = await fx.user.createSession(`framed ${awkward}`);
    const interaction = await fx.user.addInteraction(session.id, awkward);
    await fx.user.updateInteraction(session.id, interaction.id, { response_message: awkward, state: 'error', error: awkward });
    await fx.user.addInteraction(session.id, 'second');
    const before = fx.app.statements.count;
    const snapshot = await fx.app.get(SnapshotReader).read(fx.user.userId, session.id);
    expect(fx.app.statements.count - before).toBe(1);
    expect(snapshot).toMatchObject({ exists: true, version: 4 });
    expect(JSON.parse(snapshot.frame().toString())).toEqual({
      type: 'session_update',
      session_id: session.id,
      owner: fx.user.userId,
      version: 4,
      snapshot: true,
      session: await fx.user.getSession(session.id),
    });
  });
});
