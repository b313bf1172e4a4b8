import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CloseCode, ServerEvent, type InteractionAppendEvent, type InteractionUpdateEvent, type ServerFrame, type Session, type SessionUpdateEvent } from '../src/protocol/protocol.js';
import { SESSION_BUS, type SessionBus } from '../src/events/session-bus.js';
import { encodeChange } from '../src/events/change-message.js';
import { interactionFrame } from '../src/events/session-events.js';
import { sessionSubject } from '../src/protocol/protocol.js';
import { useTestApp } from './helpers/app.js';
import { eventually } from './helpers/ports.js';
import { isSnapshot } from './helpers/recording-client.js';
import { historyOp, mergeDelta, writeOp } from './helpers/session-history.js';
import { TestSocket } from './helpers/ws.js';

/** `since` delta snapshots and `delta=append` frames (protocol v1.1), against the real service. */
describe('resume with since, append deltas', () => {
  const fx = useTestApp('resumer', { VERSION_CHECK_INTERVAL_MS: '0' });
  const connect = (sessionId: string | null, query = '', key: string | null = fx.user.key) => TestSocket.connect(fx.app.wsBase, sessionId, key, query);
  const versionOf = (frame: ServerFrame) => ('version' in frame ? frame.version : -1);

  it('merging the since delta into the state held at since gives the full snapshot, for random histories', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(historyOp, { minLength: 1, maxLength: 10 }), fc.nat(), async (ops, pick) => {
        const session = await fx.user.createSession('property');
        const held: Session[] = [];
        held[1] = await fx.user.getSession(session.id);
        for (const op of ops) {
          await writeOp(fx.user, session.id, op);
          const now = await fx.user.getSession(session.id);
          held[now.version] = now;
        }
        const final = await fx.user.getSession(session.id);
        const since = 1 + (pick % final.version);
        const [delta, full] = [connect(session.id, `&since=${since}`), connect(session.id)];
        const deltaFrame = await delta.next<SessionUpdateEvent>();
        const fullFrame = await full.next<SessionUpdateEvent>();
        delta.close();
        full.close();
        expect(deltaFrame).toMatchObject({ type: ServerEvent.SessionUpdate, snapshot: true, since, version: final.version });
        expect(fullFrame.session).toEqual(final);
        expect(deltaFrame.session!.interactions.every((interaction) => interaction.version > since)).toBe(true);
        expect(mergeDelta(held[since], deltaFrame.session!)).toEqual(fullFrame.session);
      }),
      { numRuns: 8 },
    );
  });

  it('sends only the changed interactions after since, possibly none, then changes as usual', async () => {
    const session = await fx.user.createSession('resume');
    const first = await fx.user.addInteraction(session.id, 'one');
    const second = await fx.user.addInteraction(session.id, 'two');
    await fx.user.updateInteraction(session.id, first.id, { append: 'changed' });
    const client = connect(session.id, '&since=3');
    const snapshot = await client.next<SessionUpdateEvent>();
    expect(snapshot).toMatchObject({ version: 4, since: 3, snapshot: true, session: { id: session.id, name: 'resume', version: 4 } });
    expect(snapshot.session!.interactions.map((i) => [i.id, i.response_message])).toEqual([[first.id, 'changed']]);

    const current = connect(session.id, '&since=4');
    expect(await current.next()).toMatchObject({ version: 4, since: 4, session: { interactions: [] } });
    await fx.user.updateInteraction(session.id, second.id, { state: 'complete' });
    for (const socket of [client, current]) {
      expect(await socket.next((f) => versionOf(f) === 5)).toMatchObject({ type: ServerEvent.InteractionUpdate, interaction_id: second.id });
      // `since` shapes the first frame only: a sync is answered in full.
      socket.send({ type: 'sync' });
      const again = await socket.next<SessionUpdateEvent>((f) => isSnapshot(f), 5000, 1);
      expect(again).not.toHaveProperty('since');
      expect(again.session!.interactions).toHaveLength(2);
      socket.close();
    }
  });

  it('answers a since beyond the current version with a full snapshot, without since', async () => {
    const session = await fx.user.createSession('ahead');
    await fx.user.addInteraction(session.id, 'one');
    for (const since of ['3', '9007199254740991']) {
      const client = connect(session.id, `&since=${since}`);
      const frame = await client.next<SessionUpdateEvent>();
      expect(frame).toMatchObject({ version: 2, snapshot: true });
      expect(frame).not.toHaveProperty('since');
      expect(frame.session!.interactions).toHaveLength(1);
      client.close();
    }
  });

  it.each(['0', '-1', '', '1e3', '0x10', '03', '9007199254740992', '9007199254740993', '1&since=1'])('closes 4400 on since=%s', async (since) => {
    const session = await fx.user.createSession('malformed since');
    const client = connect(session.id, `&since=${since}`);
    const closed = await client.closed;
    expect(closed.code).toBe(CloseCode.BadSessionId);
    expect(closed.reason).toMatch(/^since /);
    expect(client.frames).toEqual([]);
  });

  it.each(['', 'APPEND', 'full', 'append&delta=append'])('closes 4400 on delta=%s', async (delta) => {
    const session = await fx.user.createSession('malformed delta');
    const client = connect(session.id, `&delta=${delta}`);
    expect((await client.closed).code).toBe(CloseCode.BadSessionId);
  });

  it('judges the key before the query: a bad key with a bad since is 4401', async () => {
    const session = await fx.user.createSession('order');
    expect((await connect(session.id, '&since=0', 'sk_nope').closed).code).toBe(CloseCode.Unauthorized);
  });

  it('answers a missing or foreign session exactly as without since: 4404', async () => {
    const foreign = await (await fx.app.newUser('other')).createSession('not yours');
    const answers: string[] = [];
    for (const [id, query] of [
      [foreign.id, '&since=1'],
      [foreign.id, ''],
      ['00000000-0000-4000-8000-000000000000', '&since=5&delta=append'],
    ]) {
      const client = connect(id, query);
      expect((await client.closed).code).toBe(CloseCode.SessionNotFound);
      answers.push(JSON.stringify({ ...client.frames[0], session_id: undefined }));
    }
    expect(new Set(answers).size).toBe(1);
  });

  it('sends appends as interaction_append on delta=append, in order, and full interaction_update to v1 sockets', async () => {
    const session = await fx.user.createSession('stream');
    const interaction = await fx.user.addInteraction(session.id, 'write');
    const delta = connect(session.id, '&delta=append&since=1');
    const v1 = connect(session.id);
    expect(await delta.next()).toMatchObject({ since: 1, version: 2 });
    await v1.next();
    const chunks = Array.from({ length: 20 }, (_, i) => `chunk ${i} "é\n" `);
    for (const chunk of chunks) await fx.user.updateInteraction(session.id, interaction.id, { append: chunk });
    const last = await fx.user.updateInteraction(session.id, interaction.id, { append: '.', state: 'complete', error: '' });
    await fx.user.updateInteraction(session.id, interaction.id, { response_message: 'replaced' });

    const end = 2 + chunks.length + 2;
    await delta.next((f) => versionOf(f) === end);
    await v1.next((f) => versionOf(f) === end);
    expect(delta.frames.map(versionOf)).toEqual(Array.from({ length: end - 1 }, (_, i) => i + 2));
    const appends = delta.frames.filter((f): f is InteractionAppendEvent => f.type === ServerEvent.InteractionAppend);
    expect(appends.map((f) => f.append).join('')).toBe(chunks.join('') + '.');
    expect(appends[0]).toEqual({
      type: ServerEvent.InteractionAppend,
      session_id: session.id,
      owner: fx.user.userId,
      interaction_id: interaction.id,
      version: 3,
      append: chunks[0],
      updated: expect.any(String),
    });
    expect(appends.at(-1)).toMatchObject({ version: end - 1, append: '.', state: 'complete', error: '', updated: last.updated });
    // Every change other than an append is sent as in v1.
    expect(delta.frames.at(-1)).toMatchObject({ type: ServerEvent.InteractionUpdate, interaction: { response_message: 'replaced' } });
    // v1 sockets see no difference.
    const updates = v1.frames.slice(1) as InteractionUpdateEvent[];
    expect(updates.every((f) => f.type === ServerEvent.InteractionUpdate)).toBe(true);
    expect(updates.at(-2)!.interaction).toEqual(last);
    expect(v1.frames[0]).not.toHaveProperty('since');
    delta.close();
    v1.close();
  });

  it('re-snapshots in full after a gap on a delta connection, and forgets the kept state', async () => {
    const session = await fx.user.createSession('gap');
    const interaction = await fx.user.addInteraction(session.id, 'x');
    const client = connect(session.id, '&delta=append&since=2');
    await client.next();
    const dropped = fx.app.metrics.keptStatesDropped;
    // A change whose predecessor never arrives (lost on the bus).
    const bus = fx.app.get(SESSION_BUS as never) as SessionBus;
    bus.publish(sessionSubject(fx.user.userId, session.id), encodeChange(interactionFrame(fx.user.userId, 4, { ...interaction, version: 4 })));
    const resnapshot = await client.next<SessionUpdateEvent>((f) => isSnapshot(f), 5000, 1);
    expect(resnapshot).toMatchObject({ version: 2, snapshot: true });
    expect(resnapshot).not.toHaveProperty('since');
    await eventually(() => fx.app.metrics.keptStatesDropped > dropped, 'the kept state forgotten');
    client.close();
  });
});
