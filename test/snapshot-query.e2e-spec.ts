import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SessionRepository } from '../src/sessions/session.repository.js';
import { SnapshotReader } from '../src/realtime/snapshot-reader.js';
import type { Api } from './helpers/api.js';
import { TestApp } from './helpers/app.js';

describe('the snapshot read', () => {
  let app: TestApp;
  let user: Api & { userId: string };

  beforeAll(async () => {
    app = await TestApp.start();
    user = await app.newUser('reader');
  });
  afterAll(() => app?.close());

  it('reads a session with all its interactions, oldest first, in ONE SQL statement', async () => {
    const session = await user.createSession();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await user.addInteraction(session.id, `p${i}`)).id);
    const repository = app.get(SessionRepository);
    const before = app.statements.count;
    const entity = await repository.findWithInteractions(session.id, user.userId);
    expect(app.statements.count - before).toBe(1);
    expect(entity!.version).toBe(6);
    expect(entity!.interactions.map((i) => i.id)).toEqual(ids);
  });

  it('answers a missing or foreign session with one statement too', async () => {
    const other = await app.newUser('other');
    const foreign = await other.createSession();
    const reader = app.get(SnapshotReader);
    const before = app.statements.count;
    const snapshot = await reader.read(user.userId, foreign.id);
    expect(app.statements.count - before).toBe(1);
    expect(snapshot.exists).toBe(false);
    expect(JSON.parse(snapshot.data.toString())).toMatchObject({ owner: null, version: 0, session: null });
  });

  it('builds the snapshot frame of the committed state, in one statement, whatever the text holds', async () => {
    const awkward = 'quote " backslash \\ newline \n tab \t bell \u0007 nul-free é 😀 </script> \u2028';
    const session = await user.createSession(`framed ${awkward}`);
    const interaction = await user.addInteraction(session.id, awkward);
    await user.updateInteraction(session.id, interaction.id, { response_message: awkward, state: 'error', error: awkward });
    await user.addInteraction(session.id, 'second');
    const before = app.statements.count;
    const snapshot = await app.get(SnapshotReader).read(user.userId, session.id);
    expect(app.statements.count - before).toBe(1);
    expect(snapshot).toMatchObject({ exists: true, version: 4 });
    expect(JSON.parse(snapshot.data.toString())).toEqual({
      type: 'session_update',
      session_id: session.id,
      owner: user.userId,
      version: 4,
      snapshot: true,
      session: await user.getSession(session.id),
    });
  });
});
