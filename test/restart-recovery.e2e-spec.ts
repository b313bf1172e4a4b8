import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { CloseCode, type Session } from '../src/protocol/protocol.js';
import { SessionClientState } from '../web/src/client/types.js';
import type { Api } from './helpers/api.js';
import { eventually } from './helpers/ports.js';
import { RecordingClient, isSnapshot } from './helpers/recording-client.js';
import { Replicas } from './helpers/replicas.js';
import type { ServiceProcess } from './helpers/service.js';
import { TestSocket } from './helpers/ws.js';

const SESSIONS = 3;
const CLIENTS = 10;

/**
 * A replica goes away (killed, or stopped with SIGTERM) while another keeps taking writes,
 * then comes back on the same address. Its clients must end up on the database's current
 * state through exactly one fresh snapshot per reconnect: no stale state, no replay.
 */
describe('restart recovery', () => {
  let replicas: Replicas;
  let a: ServiceProcess;
  let viaB: Api;
  let sessions: Session[];
  let clients: RecordingClient[];
  let raw: TestSocket[];

  beforeEach(async () => {
    replicas = await Replicas.start(2);
    a = replicas.processes[0];
    viaB = replicas.processes[1].api(replicas.apiKey);
    sessions = [];
    for (let i = 0; i < SESSIONS; i++) {
      const session = await viaB.createSession(`session ${i}`);
      await viaB.addInteraction(session.id, `first prompt of ${i}`);
      sessions.push(await viaB.getSession(session.id));
    }
    clients = Array.from({ length: CLIENTS }, (_, i) =>
      RecordingClient.connect({ sessionId: sessions[i % SESSIONS].id, baseUrl: a.baseUrl, accessToken: replicas.apiKey }),
    );
    raw = [];
    await eventually(() => clients.every((c) => c.state.status === SessionClientState.Connected && c.state.version === 2), 'every client on its first snapshot');
  });

  afterEach(async () => {
    for (const client of clients ?? []) client.disconnect();
    for (const socket of raw ?? []) socket.close();
    await replicas?.dispose();
  });

  const sessionOf = (client: RecordingClient) => sessions.find((s) => s.id === client.state.session?.id)!;

  /** Appends to the existing interaction, adds one, renames: three versions per session. */
  async function writeThroughB(): Promise<Session[]> {
    const current: Session[] = [];
    for (const session of sessions) {
      await viaB.updateInteraction(session.id, session.interactions[0].id, { append: 'written while A was away' });
      await viaB.addInteraction(session.id, 'a prompt A never published');
      await viaB.renameSession(session.id, `${session.name}, renamed`);
      current.push(await viaB.getSession(session.id));
    }
    expect(current.map((s) => s.version)).toEqual(sessions.map((s) => s.version + 3));
    return current;
  }

  async function expectCaughtUp(current: Session[]): Promise<void> {
    await eventually(
      () => clients.every((c) => c.state.status === SessionClientState.Connected && c.state.version === current.find((s) => s.id === c.state.session?.id)?.version),
      'every client back on the database version',
      20_000,
    );
    for (const client of clients) expect(client.state.session).toEqual(current.find((s) => s.id === client.state.session!.id));
  }

  /** Each established connection opened with a snapshot and needed no other one. */
  function expectOneSnapshotPerConnection(expectedConnections: number): void {
    for (const client of clients) {
      const established = client.established;
      expect(established).toHaveLength(expectedConnections);
      for (const connection of established) {
        expect(isSnapshot(connection.frames[0])).toBe(true);
        expect(connection.frames.filter(isSnapshot)).toHaveLength(1);
      }
    }
  }

  /** A live change after the restart proves the clients are subscribed again, through the bus. */
  async function expectLiveAgain(): Promise<void> {
    const renamed = await Promise.all(sessions.map((s) => viaB.renameSession(s.id, `${s.name}, live after restart`)));
    await eventually(() => clients.every((c) => c.state.session?.name === renamed.find((s) => s.id === sessionOf(c).id)!.name), 'the live rename on every client');
    for (const client of clients) expect(client.state.session).toEqual(renamed.find((s) => s.id === client.state.session!.id));
  }

  it('SIGKILL: clients reconnect to the restarted process and get the state committed meanwhile, one snapshot per reconnect', async () => {
    expect(await a.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    await eventually(() => clients.every((c) => c.state.status === SessionClientState.Reconnecting), 'every client noticing the drop');
    for (const client of clients) expect(client.connections[0].closeCode).toBe(CloseCode.Abnormal);
    // The killed process published nothing and no client could see anything meanwhile.
    for (const client of clients) expect(client.state.version).toBe(2);

    const current = await writeThroughB();
    await replicas.add(a.port);
    await expectCaughtUp(current);
    // Attempts while the port was closed never opened; two connections were established.
    for (const client of clients) expect(client.connections.filter((c) => c.opened)).toHaveLength(2);
    expectOneSnapshotPerConnection(2);
    for (const client of clients) expect(client.established[1].frames[0]).toMatchObject({ version: sessionOf(client).version + 3, snapshot: true });

    await expectLiveAgain();
    expectOneSnapshotPerConnection(2);
  });

  it('SIGTERM: every client gets 1012, the process exits 0, and after the restart clients hold the new state', async () => {
    raw = sessions.map((s) => TestSocket.connect(a.wsBase, s.id, replicas.apiKey));
    await Promise.all(raw.map((socket) => socket.next(isSnapshot)));

    expect(await a.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    for (const socket of raw) expect((await socket.closed).code).toBe(CloseCode.ServiceRestart);
    for (const client of clients) expect(client.connections[0].closeCode).toBe(CloseCode.ServiceRestart);

    const current = await writeThroughB();
    await replicas.add(a.port);
    await expectCaughtUp(current);
    // A reconnect that reached the server while it was stopping was turned away with 1012
    // before anything was sent; every other connection that opened was established.
    for (const client of clients) {
      for (const connection of client.connections.filter((c) => c.opened && c.frames.length === 0)) expect(connection.closeCode).toBe(CloseCode.ServiceRestart);
    }
    expectOneSnapshotPerConnection(2);

    raw = current.map((s) => TestSocket.connect(a.wsBase, s.id, replicas.apiKey));
    for (const [i, socket] of raw.entries()) {
      const first = await socket.next();
      expect(first).toEqual({ type: 'session_update', session_id: current[i].id, owner: current[i].owner, version: current[i].version, snapshot: true, session: current[i] });
    }

    await expectLiveAgain();
    expectOneSnapshotPerConnection(2);
  });
});
