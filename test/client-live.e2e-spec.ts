import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import type { INestApplication } from '@nestjs/common';
import { createApp } from '../src/app.factory.js';
import { loadConfig } from '../src/config/app-config.js';
import { CloseCode, ServerEvent, type ServerFrame } from '../src/protocol/protocol.js';
import { SessionClient, SessionClientState, type SessionClientOptions, type SessionClientSnapshot } from '../web/src/client/index.js';
import { SESSION_ID, interaction, interactionUpdate, session, sessionUpdate } from '../web/src/client/testing/fixtures.js';
import type { Api } from './helpers/api.js';
import { TestApp } from './helpers/app.js';
import { createTestDatabase } from './helpers/database.js';
import { eventually, sleep } from './helpers/ports.js';

/**
 * `ws`'s WebSocket, recording every socket the client opens and every frame it receives, so
 * that a test can tell a reconnect happened, and that a frame arrived even when (being a
 * duplicate) it changed nothing the client shows.
 */
function recordingWebSocket() {
  const sockets: WebSocket[] = [];
  const received: ServerFrame[] = [];
  class Recording extends WebSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
      this.on('message', (data) => received.push(JSON.parse(data.toString()) as ServerFrame));
      // The client's own onerror is a no-op; without a listener of ours a refused connect
      // during a restart would still be reported by `ws` as unhandled.
      this.on('error', () => undefined);
    }
  }
  return { WebSocket: Recording, sockets, received };
}

/** A client with short delays, its sockets and frames, and every snapshot its subscribers saw. */
function follow(baseUrl: string, sessionId: string, accessToken: string | undefined, options: Partial<SessionClientOptions> = {}) {
  const recording = recordingWebSocket();
  const client = new SessionClient({
    sessionId,
    baseUrl,
    accessToken,
    WebSocket: recording.WebSocket,
    minReconnectDelay: 20,
    maxReconnectDelay: 100,
    restartReconnectDelay: 20,
    wakeSignals: () => () => {},
    ...options,
  });
  const seen: SessionClientSnapshot[] = [];
  client.subscribe((snapshot) => seen.push(snapshot));
  clients.push(client);
  client.connect();
  return { client, seen, ...recording };
}

const clients: SessionClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

const connected = (client: SessionClient) =>
  eventually(() => client.state === SessionClientState.Connected, `client connected (state ${client.state})`);
const stopped = (client: SessionClient) =>
  eventually(() => client.state === SessionClientState.Stopped && client.getSnapshot().reason, 'client stopped');

/**
 * Long enough for several retries at the 20–100 ms delays above: a client that was going to
 * reconnect would have opened another socket by then.
 */
const RETRY_WINDOW_MS = 400;

describe('SessionClient against the real server', () => {
  let app: TestApp;
  let alice: Api & { userId: string };

  beforeAll(async () => {
    app = await TestApp.start();
    alice = await app.newUser('alice');
  });
  afterAll(() => app?.close());

  it('shows the committed state on connect, then applies live changes in order', async () => {
    const created = await alice.createSession('live');
    const first = await alice.addInteraction(created.id, 'first prompt');
    const { client } = follow(app.baseUrl, created.id, alice.key);
    await connected(client);
    expect(client.getSnapshot()).toMatchObject({ version: 2, gone: false, reason: null, session: await alice.getSession(created.id) });

    await alice.updateInteraction(created.id, first.id, { append: 'Hello' });
    await alice.updateInteraction(created.id, first.id, { append: ', world', state: 'complete' });
    const second = await alice.addInteraction(created.id, 'second prompt');
    await alice.renameSession(created.id, 'renamed');
    await eventually(() => client.getSnapshot().version === 6, 'version 6 applied');
    const { session } = client.getSnapshot();
    expect(session).toEqual(await alice.getSession(created.id));
    expect(session!.interactions.map((i) => i.id)).toEqual([first.id, second.id]);
    expect(session!.interactions[0]).toMatchObject({ response_message: 'Hello, world', state: 'complete' });
  });

  it('changes nothing for a repeated snapshot: same state object, no notification', async () => {
    const created = await alice.createSession('duplicates');
    await alice.addInteraction(created.id, 'one');
    const { client, seen, sockets, received } = follow(app.baseUrl, created.id, alice.key);
    await connected(client);
    const before = client.getSnapshot();
    const notified = seen.length;

    // One at a time: syncs that overlap may share one database read, and so one answer.
    for (let n = 2; n <= 4; n++) {
      sockets[0].send(JSON.stringify({ type: 'sync' }));
      await eventually(() => received.filter((f) => f.type === ServerEvent.SessionUpdate).length === n, `snapshot ${n}`);
    }
    expect(received.every((f) => f.type !== ServerEvent.SessionUpdate || f.version === 2)).toBe(true);
    expect(client.getSnapshot()).toBe(before);
    expect(seen).toHaveLength(notified);
  });

  it('keeps the very same session object across a dropped connection that missed nothing', async () => {
    const created = await alice.createSession('reconnect');
    await alice.addInteraction(created.id, 'one');
    const { client, sockets } = follow(app.baseUrl, created.id, alice.key);
    await connected(client);
    const { session } = client.getSnapshot();

    sockets[0].terminate();
    await eventually(() => sockets.length === 2 && client.state === SessionClientState.Connected, 'reconnected on a new socket');
    expect(client.getSnapshot().session).toBe(session);
  });

  it('catches up on a change committed while the connection was down', async () => {
    const created = await alice.createSession('missed');
    const one = await alice.addInteraction(created.id, 'one');
    // A first backoff of about a second leaves time to commit while no socket is open.
    const { client, sockets, received } = follow(app.baseUrl, created.id, alice.key, { minReconnectDelay: 1_000, maxReconnectDelay: 1_000, random: () => 0.999 });
    await connected(client);
    const before = client.getSnapshot().session!;

    sockets[0].terminate();
    await eventually(() => client.state === SessionClientState.Reconnecting, 'reconnecting');
    await alice.updateInteraction(created.id, one.id, { response_message: 'done while away', state: 'complete' });
    await eventually(() => sockets.length === 2 && client.getSnapshot().version === 3, 'the missed change after reconnecting', 5_000);
    expect(client.getSnapshot().session!.interactions[0]).toMatchObject({ response_message: 'done while away', state: 'complete' });
    expect(client.getSnapshot().session!.interactions[0]).not.toBe(before.interactions[0]);
    // It came with the new connection's snapshot: no live update carried it.
    expect(received.filter((f) => 'version' in f).map((f) => [f.type, (f as { version: number }).version])).toEqual([
      ['session_update', 2],
      ['session_update', 3],
    ]);
  });

  it('resumes with since: the reconnect gets only what changed, merged with the untouched interactions kept; appends arrive as deltas', async () => {
    const created = await alice.createSession('resume');
    const [one, two, three] = [await alice.addInteraction(created.id, 'one'), await alice.addInteraction(created.id, 'two'), await alice.addInteraction(created.id, 'three')];
    const { client, sockets, received } = follow(app.baseUrl, created.id, alice.key, { minReconnectDelay: 1_000, maxReconnectDelay: 1_000, random: () => 0.999 });
    await connected(client);
    expect(client.getSnapshot().version).toBe(4);
    const before = client.getSnapshot().session!;

    sockets[0].terminate();
    await eventually(() => client.state === SessionClientState.Reconnecting, 'reconnecting');
    await alice.updateInteraction(created.id, two.id, { response_message: 'changed while away', state: 'complete' });
    const four = await alice.addInteraction(created.id, 'four');
    await eventually(() => sockets.length === 2 && client.state === SessionClientState.Connected, 'reconnected');

    expect(new URL(sockets[1].url).searchParams.get('since')).toBe('4');
    const resumeFrame = received.filter((f) => f.type === ServerEvent.SessionUpdate).at(-1) as Extract<ServerFrame, { type: 'session_update' }>;
    expect(resumeFrame).toMatchObject({ since: 4, version: 6, snapshot: true });
    expect(resumeFrame.session!.interactions.map((i) => i.id)).toEqual([two.id, four.id]);
    const after = client.getSnapshot().session!;
    expect(after).toEqual(await alice.getSession(created.id));
    expect(after.interactions[0]).toBe(before.interactions[0]);
    expect(after.interactions[2]).toBe(before.interactions[2]);
    expect(after.interactions.map((i) => i.id)).toEqual([one.id, two.id, three.id, four.id]);

    await alice.updateInteraction(created.id, three.id, { append: 'Hel' });
    await alice.updateInteraction(created.id, three.id, { append: 'lo ✓', state: 'complete' });
    await eventually(() => client.getSnapshot().version === 8, 'both appends applied');
    expect(received.slice(-2).map((f) => f.type)).toEqual([ServerEvent.InteractionAppend, ServerEvent.InteractionAppend]);
    const now = client.getSnapshot().session!;
    expect(now.interactions[2]).toEqual((await alice.getSession(created.id)).interactions[2]);
    expect(now.interactions[0]).toBe(before.interactions[0]);
  });

  it.each([
    ['4400 for a malformed session id', 'not-a-uuid', 'alice', CloseCode.BadSessionId],
    ['4401 for a wrong key', 'new', 'sk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', CloseCode.Unauthorized],
    ['4401 without a key', 'new', undefined, CloseCode.Unauthorized],
    ['4404 for a session that never existed', '00000000-0000-4000-8000-000000000000', 'alice', CloseCode.SessionNotFound],
  ])('stops for good with %s', async (_what, id, key, code) => {
    const sessionId = id === 'new' ? (await alice.createSession()).id : id;
    const { client, sockets } = follow(app.baseUrl, sessionId, key === 'alice' ? alice.key : key);
    await stopped(client);
    expect(client.getSnapshot().reason!.code).toBe(code);
    await sleep(RETRY_WINDOW_MS);
    expect(sockets).toHaveLength(1);
    expect(client.state).toBe(SessionClientState.Stopped);
  });

  it('drops the state and stops for good (4404) when the session is deleted', async () => {
    const created = await alice.createSession('to delete');
    await alice.addInteraction(created.id, 'one');
    const { client, sockets } = follow(app.baseUrl, created.id, alice.key);
    await connected(client);

    await alice.deleteSession(created.id);
    await stopped(client);
    expect(client.getSnapshot()).toMatchObject({ session: null, gone: true, version: 3, reason: { code: CloseCode.SessionNotFound } });
    await sleep(RETRY_WINDOW_MS);
    expect(sockets).toHaveLength(1);
  });
});

describe('SessionClient across a restart of the real server (1012)', () => {
  let first: TestApp | undefined;
  let second: INestApplication | undefined;
  afterAll(async () => {
    await first?.close().catch(() => undefined);
    await second?.close();
  });

  it('reconnects to the next process on the same port and shows what changed meanwhile', async () => {
    const database = await createTestDatabase();
    try {
      first = await TestApp.start({}, database);
      const alice = await first.newUser('alice');
      const created = await alice.createSession('restart');
      const one = await alice.addInteraction(created.id, 'one');
      const { client, sockets, received } = follow(first.baseUrl, created.id, alice.key);
      await connected(client);
      const before = client.getSnapshot().session!;

      const closes: number[] = [];
      sockets[0].on('close', (code) => closes.push(code));
      await first.close();
      first = undefined;
      await eventually(() => closes.length === 1, 'the first socket closed');
      expect(closes).toEqual([CloseCode.ServiceRestart]);
      // Nothing listens now: attempts fail (1006) and keep being retried, the state intact.
      await eventually(() => sockets.length >= 3, 'retries while the server is down');
      expect(client.getSnapshot().session).toBe(before);

      const port = Number(new URL(alice.baseUrl).port);
      const config = loadConfig({ LOG_LEVEL: 'warn', ...(process.env.NATS_URL ? { NATS_URL: process.env.NATS_URL } : {}), ...database.env, PORT: String(port), HOST: '127.0.0.1' });
      second = await createApp(config);
      await second.listen(port, '127.0.0.1');
      // The write goes through the new process before the client finds it, at the latest.
      await alice.updateInteraction(created.id, one.id, { append: 'after the restart' });

      await eventually(() => client.getSnapshot().version === 3 && client.state === SessionClientState.Connected, 'reconnected with version 3');
      expect(client.getSnapshot().session!.interactions[0].response_message).toBe('after the restart');
      // Every state shown came from a snapshot or change of the server: never empty, never older.
      const versions = received.filter((f): f is Extract<ServerFrame, { version: number }> => 'version' in f).map((f) => f.version);
      expect(versions.every((v, n) => n === 0 || v >= versions[n - 1])).toBe(true);
    } finally {
      await first?.close().catch(() => undefined);
      first = undefined;
      await second?.close();
      second = undefined;
      await database.drop();
    }
  });
});

type Script = (socket: WebSocket, connection: number, fromClient: string[]) => void;

/** A WebSocket server of the test's own that plays a script to each connection, in order. */
class ScriptedServer {
  readonly fromClient: string[][] = [];
  private constructor(private readonly server: WebSocketServer) {}

  static async start(script: Script): Promise<ScriptedServer> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const scripted = new ScriptedServer(server);
    server.on('connection', (socket) => {
      const frames: string[] = [];
      scripted.fromClient.push(frames);
      const n = scripted.fromClient.length - 1;
      socket.on('message', (data) => frames.push(data.toString()));
      script(socket, n, frames);
    });
    return scripted;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    for (const socket of this.server.clients) socket.terminate();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const send = (socket: WebSocket, frame: unknown) => socket.send(JSON.stringify(frame));

describe('SessionClient against scripted frames', () => {
  let server: ScriptedServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('ignores duplicate and older frames, keeping the same state object', async () => {
    const i1 = interaction(1);
    server = await ScriptedServer.start((socket) => {
      send(socket, sessionUpdate(2, session(2, [i1])));
      send(socket, interactionUpdate(3, interaction(1, { response_message: 'a' })));
      // From here on, nothing is new.
      send(socket, interactionUpdate(3, interaction(1, { response_message: 'a' })));
      send(socket, interactionUpdate(2, interaction(1, { response_message: 'stale' })));
      send(socket, sessionUpdate(3, session(3, [interaction(1, { response_message: 'a' })])));
      send(socket, sessionUpdate(1, session(1, [])));
      send(socket, { type: 'pong' });
    });
    const { client, seen, received } = follow(server.baseUrl, SESSION_ID, undefined);
    await eventually(() => received.length === 7, 'all scripted frames');
    expect(client.getSnapshot()).toMatchObject({ version: 3, status: SessionClientState.Connected });
    expect(client.getSnapshot().session!.interactions[0].response_message).toBe('a');
    // The snapshot, connected, version 3: the four duplicates and the pong notified nobody.
    expect(seen.map((s) => [s.version, s.status])).toEqual([[0, 'connecting'], [2, 'connecting'], [2, 'connected'], [3, 'connected']]);
  });

  it('on a gap sends one sync, applies nothing out of order, then applies the snapshot', async () => {
    const full = session(5, [interaction(1, { response_message: 'abc', state: 'complete' }), interaction(2)]);
    server = await ScriptedServer.start((socket, _n, fromClient) => {
      send(socket, sessionUpdate(2, session(2, [interaction(1)])));
      // 3 is late: 4 and 5 arrive first.
      send(socket, interactionUpdate(4, interaction(1, { response_message: 'ab' })));
      send(socket, interactionUpdate(5, interaction(2)));
      socket.on('message', () => {
        if (fromClient.at(-1) !== '{"type":"sync"}') return;
        send(socket, interactionUpdate(3, interaction(1, { response_message: 'a' })));
        send(socket, sessionUpdate(5, full));
        send(socket, interactionUpdate(4, interaction(1, { response_message: 'ab' })));
      });
    });
    const { client, seen, received } = follow(server.baseUrl, SESSION_ID, undefined);
    await eventually(() => received.length === 6, 'the snapshot answering the sync and what follows');
    expect(server.fromClient).toEqual([['{"type":"sync"}']]);
    expect(client.getSnapshot().session).toEqual(full);
    // 3 is applied in order (it is last + 1); 4 and 5 only through the snapshot; the late 4 is a duplicate.
    expect(seen.map((s) => [s.version, s.status])).toEqual([[0, 'connecting'], [2, 'connecting'], [2, 'connected'], [3, 'connected'], [5, 'connected']]);
  });

  it.each([
    ['1011', CloseCode.InternalError],
    ['1012', CloseCode.ServiceRestart],
    ['1013', CloseCode.TryAgainLater],
    ['a dropped connection (1006)', CloseCode.Abnormal],
  ])('reconnects after %s and is connected again on the next snapshot', async (_what, code) => {
    server = await ScriptedServer.start((socket, n) => {
      if (n > 0) return send(socket, sessionUpdate(2, session(2, [interaction(1)])));
      send(socket, sessionUpdate(1, session(1, [])));
      if (code === CloseCode.TryAgainLater) {
        send(socket, { type: 'error', error: { code: 'session_unavailable', message: 'lookup timed out', retryable: true } });
      }
      if (code === CloseCode.Abnormal) socket.terminate();
      else socket.close(code, 'scripted');
    });
    const { client, seen, sockets } = follow(server.baseUrl, SESSION_ID, undefined);
    await eventually(() => sockets.length === 2 && client.getSnapshot().version === 2 && client.state === SessionClientState.Connected, 'connected again');
    const statuses = seen.map((s) => s.status).filter((status, n, all) => status !== all[n - 1]);
    expect(statuses).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
    // The state shown while reconnecting is the last one, never an empty one.
    expect(seen.filter((s) => s.status === 'reconnecting').every((s) => s.session !== null && s.version >= 1)).toBe(true);
    if (code === CloseCode.TryAgainLater) expect(seen.find((s) => s.lastError)?.lastError).toMatchObject({ code: 'session_unavailable' });
    expect(client.getSnapshot().lastError).toBeNull();
  });

  it.each([
    ['4400', CloseCode.BadSessionId],
    ['4401', CloseCode.Unauthorized],
    ['4404', CloseCode.SessionNotFound],
    ['1000', CloseCode.Normal],
  ])('stops after %s without reconnecting, keeping the state it had', async (_what, code) => {
    server = await ScriptedServer.start((socket) => {
      send(socket, sessionUpdate(1, session(1, [interaction(1)])));
      socket.close(code, 'scripted');
    });
    const { client, sockets } = follow(server.baseUrl, SESSION_ID, undefined);
    await stopped(client);
    expect(client.getSnapshot()).toMatchObject({ reason: { code, message: 'scripted' }, version: 1 });
    await sleep(RETRY_WINDOW_MS);
    expect(sockets).toHaveLength(1);
    expect(server.fromClient).toHaveLength(1);
  });
});
