import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CloseCode, ErrorCode } from '../src/protocol/protocol.js';
import type { Api } from './helpers/api.js';
import { TestApp } from './helpers/app.js';
import { createPostgresDatabase, type TestDatabase } from './helpers/database.js';
import { FaultProxy } from './helpers/fault-proxy.js';
import { isSnapshot } from './helpers/recording-client.js';
import { TestSocket } from './helpers/ws.js';

/**
 * A database that hangs (connections open, no bytes back) is the failure a timeout exists
 * for. New connections must be told to retry (1013) within SESSION_LOOKUP_TIMEOUT_MS, while
 * connections already established, which need no database, carry on.
 */
describe('session lookup against a database that does not answer', () => {
  let database: TestDatabase;
  let proxy: FaultProxy;
  let app: TestApp;
  let alice: Api;
  /** Never used before the database hangs: its key is not cached. */
  let carol: Api;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    database = await createPostgresDatabase();
    proxy = await FaultProxy.inFrontOf(database.url!);
    const proxied = proxy.through(database.url!);
    app = await TestApp.start(
      { SESSION_LOOKUP_TIMEOUT_MS: '300', VERSION_CHECK_INTERVAL_MS: '0' },
      { url: proxied, env: { DATABASE_URL: proxied }, drop: async () => undefined },
    );
    alice = await app.newUser('alice');
    carol = await app.newUser('carol');
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    // A black-holing proxy would hold the pool's shutdown forever.
    await proxy?.set('pass');
    await app?.close();
    await proxy?.close();
    await database?.drop();
  });

  const connect = (sessionId: string, key = alice.key) => {
    const socket = TestSocket.connect(app.wsBase, sessionId, key);
    sockets.push(socket);
    return socket;
  };

  async function expectUnavailable(socket: TestSocket): Promise<void> {
    expect((await socket.closed).code).toBe(CloseCode.TryAgainLater);
    expect(socket.frames).toEqual([
      { type: 'error', error: { code: ErrorCode.SessionUnavailable, message: expect.any(String), retryable: true } },
    ]);
  }

  it('answers session_unavailable then 1013 while the database hangs, keeps other sockets and the process, and recovers', async () => {
    const followed = await alice.createSession('followed');
    const other = await alice.createSession('followed too');
    const target = await alice.createSession('looked up while the database hangs');
    const missing = '00000000-0000-4000-8000-000000000000';
    // Warms the key cache: what times out below is the session's own read.
    const watchers = [connect(followed.id), connect(other.id)];
    await Promise.all(watchers.map((socket) => socket.next(isSnapshot)));

    await proxy.set('blackhole');
    await expectUnavailable(connect(target.id));
    // A key that is not cached needs the database too: same answer.
    await expectUnavailable(connect(missing, carol.key));

    for (const watcher of watchers) {
      expect(watcher.isClosed).toBe(false);
      const from = watcher.frames.length;
      watcher.send({ type: 'ping' });
      await watcher.next((f) => f.type === 'pong', 5000, from);
    }
    expect((await fetch(`${app.baseUrl}/healthz`)).status).toBe(200);

    await proxy.set('pass');
    const retry = connect(target.id);
    expect(await retry.next()).toMatchObject({ type: 'session_update', snapshot: true, version: 1, session: { id: target.id } });
    const carolRetry = connect(missing, carol.key);
    expect(await carolRetry.next()).toMatchObject({ type: 'session_update', snapshot: true, session: null });
    expect((await carolRetry.closed).code).toBe(CloseCode.SessionNotFound);
  });
});
