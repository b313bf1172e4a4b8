import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { CloseCode, ErrorCode, ServerEvent, WS_PATH, type ErrorEvent, type InteractionUpdateEvent, type SessionUpdateEvent } from '../src/protocol/protocol.js';
import type { Api } from './helpers/api.js';
import { TestApp } from './helpers/app.js';
import { eventually } from './helpers/ports.js';
import { TestSocket } from './helpers/ws.js';

const isSnapshot = (frame: { type: string }) => frame.type === ServerEvent.SessionUpdate && (frame as SessionUpdateEvent).snapshot;

describe('WebSocket /api/v1/ws/user', () => {
  let app: TestApp;
  let alice: Api & { userId: string };
  let bob: Api & { userId: string };

  beforeAll(async () => {
    app = await TestApp.start({ WS_MAX_PAYLOAD: '1024' });
    alice = await app.newUser('alice');
    bob = await app.newUser('bob');
  });
  afterAll(() => app?.close());

  const connect = (sessionId: string | null, key: string | null = alice.key) => TestSocket.connect(app.wsBase, sessionId, key);

  it('sends the committed state as the first frame, then changes in version order', async () => {
    const session = await alice.createSession('first frame');
    const interaction = await alice.addInteraction(session.id, 'hello');
    const client = connect(session.id);
    const first = await client.next<SessionUpdateEvent>();
    expect(client.frames[0]).toBe(first);
    expect(first).toMatchObject({ type: 'session_update', session_id: session.id, owner: alice.userId, version: 2, snapshot: true });
    expect(first.session!.interactions.map((i) => i.id)).toEqual([interaction.id]);

    await alice.updateInteraction(session.id, interaction.id, { append: 'wor' });
    await alice.updateInteraction(session.id, interaction.id, { append: 'ld', state: 'complete' });
    const last = await client.next<InteractionUpdateEvent>((f) => 'version' in f && f.version === 4);
    expect(last).toMatchObject({ type: 'interaction_update', owner: alice.userId, interaction_id: interaction.id, session_id: session.id });
    expect(last.interaction).toMatchObject({ response_message: 'world', state: 'complete' });
    expect(client.frames.map((f) => ('version' in f ? f.version : -1))).toEqual([2, 3, 4]);
    client.close();
  });

  it('sends a full snapshot on every (re)connection', async () => {
    const session = await alice.createSession('reconnect');
    const one = connect(session.id);
    await one.next(isSnapshot);
    one.close();
    await one.closed;
    await alice.renameSession(session.id, 'renamed while away');
    const two = connect(session.id);
    const snapshot = await two.next<SessionUpdateEvent>();
    expect(snapshot).toMatchObject({ snapshot: true, version: 2, session: { name: 'renamed while away' } });
    two.close();
  });

  it('publishes PATCH as a non-snapshot session_update and DELETE as session null, then closes 4404', async () => {
    const session = await alice.createSession('to delete');
    const client = connect(session.id);
    await client.next(isSnapshot);
    await alice.renameSession(session.id, 'new name');
    const renamed = await client.next<SessionUpdateEvent>((f) => f.type === 'session_update' && !f.snapshot);
    expect(renamed).toMatchObject({ version: 2, session: { name: 'new name', version: 2 } });
    await alice.deleteSession(session.id);
    const gone = await client.next<SessionUpdateEvent>((f) => f.type === 'session_update' && f.session === null);
    expect(gone).toEqual({
      type: 'session_update',
      session_id: session.id,
      owner: alice.userId,
      version: 3,
      snapshot: false,
      session: null,
      error: { code: ErrorCode.SessionNotFound, message: expect.any(String) },
    });
    expect((await client.closed).code).toBe(CloseCode.SessionNotFound);
  });

  it('answers a missing, a deleted and a foreign session identically, then closes 4404', async () => {
    const foreign = await bob.createSession('bob only');
    const deleted = await alice.createSession('deleted');
    await alice.deleteSession(deleted.id);
    const missing = '00000000-0000-4000-8000-000000000000';
    const answers = [];
    for (const id of [missing, deleted.id, foreign.id]) {
      const client = connect(id);
      const frame = await client.next<SessionUpdateEvent>();
      expect((await client.closed).code).toBe(CloseCode.SessionNotFound);
      expect(client.frames).toHaveLength(1);
      answers.push({ ...frame, session_id: 'x' });
      expect(frame.session_id).toBe(id);
    }
    expect(answers[0]).toEqual({ type: 'session_update', session_id: 'x', owner: null, version: 0, snapshot: true, session: null, error: { code: 'session_not_found', message: expect.any(String) } });
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
  });

  it.each([
    ['no key', null],
    ['a wrong key', 'sk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['garbage', 'nope'],
  ])('closes 4401 with %s, sending nothing', async (_what, key) => {
    const session = await alice.createSession();
    const client = connect(session.id, key);
    expect((await client.closed).code).toBe(CloseCode.Unauthorized);
    expect(client.frames).toEqual([]);
  });

  it('judges the Authorization header before the query: a bad header loses even with a good query key', async () => {
    const session = await alice.createSession();
    const url = `${app.wsBase}${WS_PATH}?session_id=${session.id}&access_token=${alice.key}`;
    const basic = new TestSocket(url, { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
    expect((await basic.closed).code).toBe(CloseCode.Unauthorized);
    const cookie = new TestSocket(`${app.wsBase}${WS_PATH}?session_id=${session.id}`, { headers: { cookie: `theme=dark; access_token=${alice.key}` } });
    expect(await cookie.next()).toMatchObject({ type: 'session_update', snapshot: true });
    cookie.close();
  });

  it.each([['missing', null], ['malformed', 'abc'], ['uppercase', 'AAAAAAAA-0000-4000-8000-000000000000'], ['unhyphenated', '0000000000004000800000000000000a']])(
    'closes 4400 when session_id is %s',
    async (_what, id) => {
      const client = connect(id);
      expect((await client.closed).code).toBe(CloseCode.BadSessionId);
      expect(client.frames).toEqual([]);
    },
  );

  it('answers ping with pong and sync with a snapshot; bad frames get bad_request and the connection stays', async () => {
    const session = await alice.createSession();
    const client = connect(session.id);
    await client.next(isSnapshot);
    client.send({ type: 'ping' });
    await client.next((f) => f.type === ServerEvent.Pong);
    for (const bad of ['not json', '{"type":"subscribe"}', '[]', '42', '{"event":"sync"}']) {
      const before = client.frames.length;
      client.send(bad);
      const error = await client.next<ErrorEvent>((f) => f.type === 'error', 5000, before);
      expect(error.error).toEqual({ code: ErrorCode.BadRequest, message: expect.any(String), retryable: false });
    }
    const before = client.frames.length;
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await client.next<ErrorEvent>((f) => f.type === 'error', 5000, before)).error.code).toBe(ErrorCode.BadRequest);
    const beforeSync = client.frames.length;
    client.send({ type: 'sync' });
    expect(await client.next(isSnapshot, 5000, beforeSync)).toMatchObject({ version: 1, session: { id: session.id } });
    expect(client.isClosed).toBe(false);
    client.close();
  });

  it('answers every sync with a snapshot of its own, even when sent back to back or before the first snapshot', async () => {
    const session = await alice.createSession();
    const client = connect(session.id);
    client.socket.once('open', () => client.send({ type: 'sync' }));
    await client.next(isSnapshot);
    for (let i = 0; i < 3; i++) client.send({ type: 'sync' });
    await eventually(() => client.frames.filter(isSnapshot).length === 5, 'five snapshots');
    expect(client.frames.every((f) => f.type === 'session_update' && f.snapshot && f.version === 1)).toBe(true);
    // The burst is 5 with one more a second: ten at once must hit the limit whatever the timing.
    for (let i = 0; i < 10; i++) client.send({ type: 'sync' });
    const limited = await client.next<ErrorEvent>((f) => f.type === 'error');
    expect(limited.error).toEqual({ code: ErrorCode.RateLimited, message: expect.any(String), retryable: true });
    expect(client.isClosed).toBe(false);
    client.close();
  });

  it('holds replies to frames sent before the snapshot until after it', async () => {
    const session = await alice.createSession();
    const client = connect(session.id);
    client.socket.once('open', () => {
      client.send({ type: 'ping' });
      client.send('garbage');
    });
    await client.next((f) => f.type === 'error');
    expect(client.frames.map((f) => f.type)).toEqual(['session_update', 'pong', 'error']);
    client.close();
  });

  it('closes 1009 on a frame over WS_MAX_PAYLOAD and keeps serving other clients', async () => {
    const session = await alice.createSession();
    const other = connect(session.id);
    await other.next(isSnapshot);
    const big = connect(session.id);
    await big.next(isSnapshot);
    big.send({ type: 'ping', padding: 'x'.repeat(2048) });
    expect((await big.closed).code).toBe(CloseCode.MessageTooBig);
    await alice.renameSession(session.id, 'still served');
    expect(await other.next((f) => f.type === 'session_update' && !f.snapshot)).toMatchObject({ version: 2 });
    other.close();
  });

  it('refuses upgrades on any other path', async () => {
    const socket = new WebSocket(`${app.wsBase}/api/v1/ws/other`);
    const outcome = await new Promise<string>((resolve) => {
      socket.on('open', () => resolve('open'));
      socket.on('error', () => resolve('refused'));
    });
    expect(outcome).toBe('refused');
  });
});
