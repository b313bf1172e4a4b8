import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SessionUpdateEvent } from '../src/protocol/protocol.js';
import type { Api } from './helpers/api.js';
import { TestApp } from './helpers/app.js';
import { eventually } from './helpers/ports.js';
import { isSnapshot } from './helpers/recording-client.js';
import { TestSocket } from './helpers/ws.js';

/** What a connection costs the bus and the database, by count. */
describe('subscription sharing and single-flight snapshot reads', () => {
  let app: TestApp;
  let alice: Api;

  beforeAll(async () => {
    // No periodic version check: nothing but the connections below may touch the database.
    // No lingering: a channel goes with its last socket (lingering-channels.e2e-spec covers it).
    app = await TestApp.start({ VERSION_CHECK_INTERVAL_MS: '0', CHANNEL_LINGER_MS: '0' });
    alice = await app.newUser('alice');
  });
  afterAll(() => app?.close());

  const connect = (sessionId: string) => TestSocket.connect(app.wsBase, sessionId, alice.key);

  async function closeAll(sockets: TestSocket[]): Promise<void> {
    for (const socket of sockets) socket.close();
    await Promise.all(sockets.map((socket) => socket.closed));
  }

  it('holds one bus subscription per owner, however many of its sessions and sockets are followed, and drops it with the last', async () => {
    expect(app.metrics.busSubscriptions).toBe(0);
    const bob = await app.newUser('bob');
    const sessions = await Promise.all(Array.from({ length: 10 }, (_, i) => alice.createSession(`shared ${i}`)));
    const bobs = await bob.createSession('bob');
    const sockets = Array.from({ length: 100 }, (_, i) => connect(sessions[i % 10].id));
    const bobSocket = TestSocket.connect(app.wsBase, bobs.id, bob.key);
    await Promise.all([...sockets, bobSocket].map((socket) => socket.next(isSnapshot, 20_000)));
    expect(app.metrics.busSubscriptions).toBe(2);

    // Each follower gets its own session's changes, and only those.
    await alice.addInteraction(sessions[3].id, 'to session 3');
    await Promise.all(sockets.filter((_, i) => i % 10 === 3).map((socket) => socket.next((frame) => frame.type === 'interaction_update')));
    await bob.addInteraction(bobs.id, 'to bob');
    await bobSocket.next((frame) => frame.type === 'interaction_update');
    await alice.addInteraction(sessions[4].id, 'to session 4');
    await Promise.all(sockets.filter((_, i) => i % 10 === 4).map((socket) => socket.next((frame) => frame.type === 'interaction_update')));
    for (const [i, socket] of sockets.entries()) {
      const updates = socket.frames.filter((frame) => frame.type === 'interaction_update');
      expect(updates.map((frame) => ('session_id' in frame ? frame.session_id : null))).toEqual(i % 10 === 3 || i % 10 === 4 ? [sessions[i % 10].id] : []);
    }

    // Closing all but one socket of one of alice's sessions keeps her subscription; bob's goes with his socket.
    bobSocket.close();
    await closeAll(sockets.filter((_, i) => i >= 1));
    await eventually(() => app.metrics.wsConnections === 1, 'the closes to reach the server');
    expect(app.metrics.busSubscriptions).toBe(1);

    await closeAll(sockets.slice(0, 1));
    await eventually(() => app.metrics.busSubscriptions === 0, 'every subscription dropped');
    expect(app.metrics.wsConnections).toBe(0);
  });

  it('serves 50 concurrent connects to one session with a few snapshot queries, not 50', async () => {
    const session = await alice.createSession('storm');
    // The key lookup is cached after one connect; what remains per connect is the snapshot.
    const warm = connect((await alice.createSession('warm-up')).id);
    await warm.next(isSnapshot);
    const before = app.metrics.snapshotQueries;

    const sockets = Array.from({ length: 50 }, () => connect(session.id));
    const firsts = await Promise.all(sockets.map((socket) => socket.next<SessionUpdateEvent>(undefined, 20_000)));
    const queries = app.metrics.snapshotQueries - before;
    expect(firsts.every((frame) => isSnapshot(frame) && frame.version === 1 && frame.session?.id === session.id)).toBe(true);
    expect(queries).toBeGreaterThanOrEqual(1);
    expect(queries).toBeLessThanOrEqual(3);
    await closeAll([...sockets, warm]);
  });

  it('reads a snapshot in ONE SQL statement', async () => {
    const warm = connect((await alice.createSession('warm-up')).id);
    await warm.next(isSnapshot);
    const session = await alice.createSession('one statement');
    await alice.addInteraction(session.id, 'so that the read joins interactions');
    await alice.addInteraction(session.id, 'more than one');
    const statements = app.statements.count;
    const queries = app.metrics.snapshotQueries;

    const socket = connect(session.id);
    const first = await socket.next<SessionUpdateEvent>();
    expect(first).toMatchObject({ type: 'session_update', snapshot: true, version: 3 });
    expect(first.session!.interactions).toHaveLength(2);
    expect(app.metrics.snapshotQueries - queries).toBe(1);
    expect(app.statements.count - statements).toBe(1);
    await closeAll([socket, warm]);
  });
});

/** BUS_SUBSCRIPTION_SCOPE=session: for a user who owns many busy sessions, a process takes only what it follows. */
describe('subscriptions per session (BUS_SUBSCRIPTION_SCOPE=session)', () => {
  let app: TestApp;
  let alice: Api;

  beforeAll(async () => {
    app = await TestApp.start({ BUS_SUBSCRIPTION_SCOPE: 'session', VERSION_CHECK_INTERVAL_MS: '0', CHANNEL_LINGER_MS: '0' });
    alice = await app.newUser('alice');
  });
  afterAll(() => app?.close());

  it("holds one subscription per followed session, and receives none of the owner's other sessions' changes", async () => {
    const followed = await Promise.all(Array.from({ length: 3 }, (_, i) => alice.createSession(`followed ${i}`)));
    const unfollowed = await Promise.all(Array.from({ length: 2 }, (_, i) => alice.createSession(`elsewhere ${i}`)));
    const sockets = Array.from({ length: 30 }, (_, i) => TestSocket.connect(app.wsBase, followed[i % 3].id, alice.key));
    await Promise.all(sockets.map((socket) => socket.next(isSnapshot, 20_000)));
    expect(app.metrics.busSubscriptions).toBe(3);

    // Published before the followed change, so on one bus connection they would arrive before it.
    for (const session of unfollowed) await alice.addInteraction(session.id, 'nobody here follows this');
    await alice.addInteraction(followed[0].id, 'to session 0');
    await Promise.all(sockets.filter((_, i) => i % 3 === 0).map((socket) => socket.next((frame) => frame.type === 'interaction_update')));
    expect(app.metrics.busMessagesUnfollowed).toBe(0);
    for (const [i, socket] of sockets.entries()) {
      expect(socket.frames.filter((frame) => frame.type === 'interaction_update')).toHaveLength(i % 3 === 0 ? 1 : 0);
    }

    const ofSession0 = sockets.filter((_, i) => i % 3 === 0);
    for (const socket of ofSession0) socket.close();
    await Promise.all(ofSession0.map((socket) => socket.closed));
    await eventually(() => app.metrics.busSubscriptions === 2, "session 0's subscription dropped with its last socket");
    const rest = sockets.filter((_, i) => i % 3 !== 0);
    for (const socket of rest) socket.close();
    await Promise.all(rest.map((socket) => socket.closed));
    await eventually(() => app.metrics.busSubscriptions === 0, 'every subscription dropped');
  });
});
