import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { encodeChange } from '../src/events/change-message.js';
import { SESSION_BUS, type SessionBus } from '../src/events/session-bus.js';
import { interactionFrame } from '../src/events/session-events.js';
import { sessionSubject, type Session, type SessionUpdateEvent } from '../src/protocol/protocol.js';
import { SessionChannels } from '../src/realtime/session-channels.js';
import { VersionCheck } from '../src/realtime/version-check.js';
import { useTestApp } from './helpers/app.js';
import { eventually } from './helpers/ports.js';
import { historyOp, writeOp } from './helpers/session-history.js';
import { TestSocket } from './helpers/ws.js';

/**
 * What a connect costs in SQL statements, by kind: cold (nobody follows the session here),
 * followed (a socket of this process follows it), lingering (the last socket left a moment
 * ago); and that a state served from memory is the database's, field for field.
 */
describe('lingering channels and kept session states', () => {
  const fx = useTestApp('lingerer', { VERSION_CHECK_INTERVAL_MS: '0', CHANNEL_LINGER_MS: '600000' });
  const connect = (sessionId: string, query = '') => TestSocket.connect(fx.app.wsBase, sessionId, fx.user.key, query);
  const channels = () => fx.app.get(SessionChannels);

  /** The first frame of a new connection, and the SQL statements the connect cost. */
  async function firstFrame(sessionId: string, query = ''): Promise<{ frame: SessionUpdateEvent; statements: number; socket: TestSocket }> {
    const before = fx.app.statements.count;
    const socket = connect(sessionId, query);
    const frame = await socket.next<SessionUpdateEvent>();
    return { frame, statements: fx.app.statements.count - before, socket };
  }

  async function closeAll(...sockets: TestSocket[]): Promise<void> {
    for (const socket of sockets) socket.close();
    await Promise.all(sockets.map((socket) => socket.closed));
    await eventually(() => fx.app.metrics.wsConnections === 0, 'the closes to reach the server');
  }

  /** Waits until the kept state has taken every committed change (events travel after the commit). */
  const keptAt = (sessionId: string, version: number) =>
    eventually(() => channels().keptVersion(fx.user.userId, sessionId) === version, `the kept state at version ${version}`);

  it('costs one statement for a cold connect, none for a followed or a lingering one', async () => {
    const warm = await firstFrame((await fx.user.createSession('warm-up')).id);
    const session = await fx.user.createSession('counted');
    await fx.user.addInteraction(session.id, 'one');

    const cold = await firstFrame(session.id);
    expect(cold.statements).toBe(1);
    const followed = await firstFrame(session.id);
    expect(followed.statements).toBe(0);
    expect(followed.frame).toEqual(cold.frame);

    await closeAll(cold.socket, followed.socket, warm.socket);
    expect(channels().lingering).toBeGreaterThanOrEqual(1);
    await fx.user.addInteraction(session.id, 'written while nobody followed');
    await keptAt(session.id, 3);
    const lingering = await firstFrame(session.id, '&since=2');
    expect(lingering.statements).toBe(0);
    expect(lingering.frame).toMatchObject({ version: 3, since: 2 });
    expect(lingering.frame.session!.interactions.map((i) => i.prompt_message)).toEqual(['written while nobody followed']);
    await closeAll(lingering.socket);
  });

  it('shares one read among cold connects with different since values', async () => {
    const session = await fx.user.createSession('storm');
    for (let i = 0; i < 4; i++) await fx.user.addInteraction(session.id, `prompt ${i}`);
    const warm = await firstFrame((await fx.user.createSession('warm-up')).id);
    const queries = fx.app.metrics.snapshotQueries;
    const sockets = ['', '&since=1', '&since=2', '&since=3', '&since=5', '&since=9', '&since=2&delta=append'].flatMap((query) => [connect(session.id, query), connect(session.id, query)]);
    const frames = await Promise.all(sockets.map((socket) => socket.next<SessionUpdateEvent>()));
    expect(fx.app.metrics.snapshotQueries - queries).toBe(1);
    expect(frames.map((frame) => frame.session!.interactions.length)).toEqual([4, 4, 4, 4, 3, 3, 2, 2, 0, 0, 4, 4, 3, 3]);
    await closeAll(...sockets, warm.socket);
  });

  it('serves from memory exactly the state the database holds, field for field, for random histories', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(historyOp, fc.constantFrom('stay', 'leave', 'come back')), { minLength: 1, maxLength: 12 }), async (steps) => {
        const session = await fx.user.createSession('property');
        let open = [(await firstFrame(session.id)).socket];
        for (const [op, move] of steps) {
          await writeOp(fx.user, session.id, op);
          if (move === 'leave') {
            await closeAll(...open);
            open = [];
          } else if (move === 'come back') open.push(connect(session.id));
        }
        const database: Session = await fx.user.getSession(session.id);
        await keptAt(session.id, database.version);
        const served = await firstFrame(session.id);
        expect(served.statements).toBe(0);
        expect(served.frame.session).toEqual(database);
        await closeAll(...open, served.socket);
      }),
      { numRuns: 10 },
    );
  });

  it('forgets a lingering state on a gap, and the next connect reads', async () => {
    const session = await fx.user.createSession('gap');
    const interaction = await fx.user.addInteraction(session.id, 'x');
    await closeAll((await firstFrame(session.id)).socket);
    await keptAt(session.id, 2);
    const dropped = fx.app.metrics.keptStatesDropped;
    const bus = fx.app.get(SESSION_BUS as never) as SessionBus;
    bus.publish(sessionSubject(fx.user.userId, session.id), encodeChange(interactionFrame(fx.user.userId, 4, { ...interaction, version: 4 })));
    await eventually(() => fx.app.metrics.keptStatesDropped === dropped + 1, 'the kept state forgotten');
    expect(channels().keptVersion(fx.user.userId, session.id)).toBe(0);
    const next = await firstFrame(session.id);
    expect(next.statements).toBe(1);
    await closeAll(next.socket);
  });

  it('forgets kept states when the bus reconnects, and when the version check finds the database ahead', async () => {
    const [first, second] = [await fx.user.createSession('resync'), await fx.user.createSession('checked')];
    await closeAll((await firstFrame(first.id)).socket, (await firstFrame(second.id)).socket);
    await keptAt(first.id, 1);
    await keptAt(second.id, 1);

    // What the bus does after a reconnect (nats-restart.e2e-spec drives a real one).
    channels().resyncAll('bus reconnected');
    expect(channels().keptVersion(fx.user.userId, first.id)).toBe(0);
    const reread = await firstFrame(first.id);
    expect(reread.statements).toBe(1);
    await closeAll(reread.socket);
    expect(channels().keptVersion(fx.user.userId, second.id)).toBe(0);
    await closeAll((await firstFrame(second.id)).socket);
    await keptAt(second.id, 1);
    // A change whose event was lost (the publisher crashed after its commit).
    await fx.app.get(DataSource).query('UPDATE sessions SET version = version + 1 WHERE id = $1', [second.id]);
    const dropped = fx.app.metrics.keptStatesDropped;
    await fx.app.get(VersionCheck).run();
    expect(fx.app.metrics.keptStatesDropped).toBe(dropped + 1);
    const next = await firstFrame(second.id);
    expect(next.statements).toBe(1);
    expect(next.frame.version).toBe(2);
    await closeAll(next.socket);
  });
});
