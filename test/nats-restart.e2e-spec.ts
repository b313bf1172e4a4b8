import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Session, SessionUpdateEvent } from '../src/protocol/protocol.js';
import type { Api } from './helpers/api.js';
import { TestApp } from './helpers/app.js';
import { TestNatsServer } from './helpers/nats.js';
import { eventually } from './helpers/ports.js';
import { isSnapshot } from './helpers/recording-client.js';
import { TestSocket } from './helpers/ws.js';

/**
 * Core NATS drops whatever is published while a connection is away. When the bus comes
 * back, the service must re-read the sessions its sockets follow and push them as
 * snapshots, on the sockets that are already open.
 */
describe('NATS restart under live clients', () => {
  let nats: TestNatsServer;
  let app: TestApp;
  let alice: Api;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    nats = await TestNatsServer.start();
    // No periodic version check: only the bus's reconnect may bring the clients up to date.
    app = await TestApp.start({ NATS_URL: nats.url, VERSION_CHECK_INTERVAL_MS: '0' });
    alice = await app.newUser('alice');
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await app?.close();
    await nats?.dispose();
  });

  const readyz = () => fetch(`${app.baseUrl}/readyz`).then(async (r) => ({ status: r.status, body: await r.json() }));

  it('re-snapshots open connections at the database version once NATS is back, without a reconnect', async () => {
    const sessions: Session[] = [];
    for (const name of ['one', 'two']) {
      const session = await alice.createSession(name);
      await alice.addInteraction(session.id, `prompt of ${name}`);
      sessions.push(await alice.getSession(session.id));
    }
    for (let i = 0; i < 4; i++) sockets.push(TestSocket.connect(app.wsBase, sessions[i % 2].id, alice.key));
    await Promise.all(sockets.map((socket) => socket.next(isSnapshot)));
    expect((await readyz()).status).toBe(200);
    const connections = app.metrics.wsConnections;
    const resyncs = app.metrics.resyncs;

    await nats.stop();
    expect(await eventually(async () => { const r = await readyz(); return r.status === 503 && r.body; }, 'readyz 503 with NATS down')).toMatchObject({ bus: 'unavailable', database: 'ok' });

    const current: Session[] = [];
    for (const session of sessions) {
      await alice.updateInteraction(session.id, session.interactions[0].id, { append: 'while NATS was away' });
      await alice.addInteraction(session.id, 'added while NATS was away');
      await alice.renameSession(session.id, `${session.name} renamed`);
      current.push(await alice.getSession(session.id));
    }
    expect(current.map((s) => s.version)).toEqual([5, 5]);

    await nats.resume();
    await eventually(async () => (await readyz()).status === 200, 'readyz 200 with NATS back');

    for (const [i, socket] of sockets.entries()) {
      const expected = current[i % 2];
      const resnapshot = await socket.next<SessionUpdateEvent>((f) => isSnapshot(f) && f.version === expected.version, 15_000);
      expect(resnapshot.session).toEqual(expected);
      expect(socket.isClosed).toBe(false);
      // Whatever arrived, it arrived in version order (the snapshot may repeat a version it supersedes).
      const versions = socket.frames.map((f) => ('version' in f ? f.version : 0));
      expect(versions).toEqual([...versions].sort((x, y) => x - y));
    }
    expect(app.metrics.wsConnections).toBe(connections);
    expect(app.metrics.resyncs).toBeGreaterThan(resyncs);

    // The subscriptions came back with the connection: live changes flow again.
    const renamed = await alice.renameSession(sessions[0].id, 'live again');
    for (const socket of [sockets[0], sockets[2]]) {
      expect(await socket.next((f) => f.type === 'session_update' && f.version === renamed.version && !f.snapshot)).toMatchObject({ session: { name: 'live again' } });
    }
  });
});
