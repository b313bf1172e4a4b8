import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SESSION_BUS, type SessionBus } from '../src/events/session-bus.js';
import { sessionSubject, type VersionedEvent } from '../src/protocol/protocol.js';
import type { Api } from './helpers/api.js';
import { TestApp } from './helpers/app.js';
import { eventually } from './helpers/ports.js';

/** Every event published for one session, as the bus delivers them to this process. */
async function recordEvents(app: TestApp, owner: string, sessionId: string): Promise<VersionedEvent[]> {
  const events: VersionedEvent[] = [];
  const bus = app.app.get<SessionBus>(SESSION_BUS);
  await bus.subscribe(sessionSubject(owner, sessionId), (payload) => events.push(JSON.parse(Buffer.from(payload).toString())));
  return events;
}

describe('versions under concurrent writers (real database)', () => {
  let app: TestApp;
  let user: Api & { userId: string };

  beforeAll(async () => {
    app = await TestApp.start();
    user = await app.newUser('writer');
  });
  afterAll(() => app?.close());

  it('gives every committed change its own consecutive version, published once each', async () => {
    const session = await user.createSession();
    const events = await recordEvents(app, user.userId, session.id);
    const seed = await user.addInteraction(session.id);
    const writers = 40;
    await Promise.all(
      Array.from({ length: writers }, (_, i) =>
        i % 4 === 0
          ? user.addInteraction(session.id, `prompt ${i}`)
          : i % 4 === 1
            ? user.renameSession(session.id, `name ${i}`)
            : user.updateInteraction(session.id, seed.id, i % 4 === 2 ? { state: 'editing' } : { error: `e${i}` }),
      ),
    );
    const expected = writers + 2;
    expect((await user.getSession(session.id)).version).toBe(expected);
    await eventually(() => events.length === writers + 1, 'every change to be published');
    expect(events.map((event) => event.version).sort((a, b) => a - b)).toEqual(Array.from({ length: writers + 1 }, (_, i) => i + 2));
  });

  it('keeps the text of every concurrent append', async () => {
    const session = await user.createSession();
    const interaction = await user.addInteraction(session.id);
    const tokens = Array.from({ length: 60 }, (_, i) => `<${i}>`);
    await Promise.all(tokens.map((token) => user.updateInteraction(session.id, interaction.id, { append: token })));
    const stored = (await user.getSession(session.id)).interactions[0];
    for (const token of tokens) expect(stored.response_message.split(token)).toHaveLength(2);
    expect(stored.response_message).toHaveLength(tokens.join('').length);
    expect((await user.getSession(session.id)).version).toBe(2 + tokens.length);
  });

  it('writes an interaction change and its version in ONE statement', async () => {
    const session = await user.createSession();
    const interaction = await user.addInteraction(session.id);
    await user.updateInteraction(session.id, interaction.id, { append: 'warm the key cache' });
    const before = app.statements.count;
    await user.updateInteraction(session.id, interaction.id, { append: '!', state: 'complete' });
    await user.addInteraction(session.id, 'next');
    expect(app.statements.count - before).toBe(2);
  });

  it('rolls back the version of a change that fails', async () => {
    const session = await user.createSession();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 ? user.addInteraction(session.id) : user.request('PATCH', `/sessions/${session.id}/interactions/00000000-0000-4000-8000-00000000000${i}`, { append: 'x' }),
      ),
    );
    expect((await user.getSession(session.id)).version).toBe(6);
  });
});
