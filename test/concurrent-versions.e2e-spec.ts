import { describe, expect, it } from '@jest/globals';
import { SESSION_BUS, type SessionBus } from '../src/events/session-bus.js';
import { sessionSubject, type VersionedEvent } from '../src/protocol/protocol.js';
import { TestApp, useTestApp } from './helpers/app.js';
import { eventually } from './helpers/ports.js';

/** Every event published for one session, as the bus delivers them to this process. */
async function recordEvents(app: TestApp, owner: string, sessionId: string): Promise<VersionedEvent[]> {
  const events: VersionedEvent[] = [];
  const bus = app.app.get<SessionBus>(SESSION_BUS);
  await bus.subscribe(sessionSubject(owner, sessionId), (payload) => events.push(JSON.parse(Buffer.from(payload).toString())));
  return events;
}

describe('versions under concurrent writers (real database)', () => {
  const fx = useTestApp('writer');

  it('gives every committed change its own consecutive version, published once each', async () => {
    const session = await fx.user.createSession();
    const events = await recordEvents(fx.app, fx.user.userId, session.id);
    const seed = await fx.user.addInteraction(session.id);
    const writers = 40;
    await Promise.all(
      Array.from({ length: writers }, (_, i) =>
        i % 4 === 0
          ? fx.user.addInteraction(session.id, `prompt ${i}`)
          : i % 4 === 1
            ? fx.user.renameSession(session.id, `name ${i}`)
            : fx.user.updateInteraction(session.id, seed.id, i % 4 === 2 ? { state: 'editing' } : { error: `e${i}` }),
      ),
    );
    const expected = writers + 2;
    expect((await fx.user.getSession(session.id)).version).toBe(expected);
    await eventually(() => events.length === writers + 1, 'every change to be published');
    expect(events.map((event) => event.version).sort((a, b) => a - b)).toEqual(Array.from({ length: writers + 1 }, (_, i) => i + 2));
  });

  it('keeps the text of every concurrent append', async () => {
    const session = await fx.user.createSession();
    const interaction = await fx.user.addInteraction(session.id);
    const tokens = Array.from({ length: 60 }, (_, i) => `<${i}>`);
    await Promise.all(tokens.map((token) => fx.user.updateInteraction(session.id, interaction.id, { append: token })));
    const stored = (await fx.user.getSession(session.id)).interactions[0];
    for (const token of tokens) expect(stored.response_message.split(token)).toHaveLength(2);
    expect(stored.response_message).toHaveLength(tokens.join('').length);
    expect((await fx.user.getSession(session.id)).version).toBe(2 + tokens.length);
  });

  it('writes an interaction change and its version in ONE statement', async () => {
    const session = await fx.user.createSession();
    const interaction = await fx.user.addInteraction(session.id);
    await fx.user.updateInteraction(session.id, interaction.id, { append: 'warm the key cache' });
    const before = fx.app.statements.count;
    await fx.user.updateInteraction(session.id, interaction.id, { append: '!', state: 'complete' });
    await fx.user.addInteraction(session.id, 'next');
    expect(fx.app.statements.count - before).toBe(2);
  });

  it('rolls back the version of a change that fails', async () => {
    const session = await fx.user.createSession();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 ? fx.user.addInteraction(session.id) : fx.user.request('PATCH', `/sessions/${session.id}/interactions/00000000-0000-4000-8000-00000000000${i}`, { append: 'x' }),
      ),
    );
    expect((await fx.user.getSession(session.id)).version).toBe(6);
  });
});
