import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ServerEvent, type InteractionAppendEvent, type InteractionUpdateEvent, type Session, type SessionUpdateEvent } from '../src/protocol/protocol.js';
import { eventually } from './helpers/ports.js';
import { useReplicas } from './helpers/replicas.js';
import type { ServiceProcess } from './helpers/service.js';
import { historyOp, mergeDelta, writeOp } from './helpers/session-history.js';
import { TestSocket } from './helpers/ws.js';

interface ProcessMetrics {
  sql_statements: number;
  kept_state_connects: number;
  kept_states_dropped: number;
  snapshot_queries: number;
  resyncs: number;
}

/**
 * Two replicas on one Postgres and one NATS: append deltas built on the receiving replica,
 * resume across a restart, and kept states that equal the database whatever replica wrote
 * and whichever restarted. A subscribes per owner (the default), B per session
 * (BUS_SUBSCRIPTION_SCOPE=session): both ways of following are held to the same results.
 */
describe('append deltas and kept states across replicas and restarts', () => {
  const fx = useReplicas({ VERSION_CHECK_INTERVAL_MS: '0', CHANNEL_LINGER_MS: '600000' }, { b: { BUS_SUBSCRIPTION_SCOPE: 'session' } });

  const connect = (replica: ServiceProcess, sessionId: string, query = '') => TestSocket.connect(replica.wsBase, sessionId, fx.replicas.apiKey, query);
  const metrics = async (replica: ServiceProcess): Promise<ProcessMetrics> => (await fetch(`${replica.baseUrl}/metrics`, { headers: { accept: 'application/json' } })).json() as Promise<ProcessMetrics>;

  async function restart(which: 'a' | 'b'): Promise<void> {
    const old = which === 'a' ? fx.a : fx.b;
    await old.stop('SIGKILL');
    const fresh = await old.restart();
    fx.replicas.processes.push(fresh);
    if (which === 'a') {
      fx.a = fresh;
      fx.viaA = fresh.api(fx.replicas.apiKey);
    } else fx.b = fresh;
  }

  it('builds interaction_append on the receiving replica for delta sockets, interaction_update for v1 sockets', async () => {
    const session = await fx.viaA.createSession('stream across');
    const interaction = await fx.viaA.addInteraction(session.id, 'go');
    const delta = connect(fx.b, session.id, '&delta=append');
    const v1 = connect(fx.b, session.id);
    await Promise.all([delta.next(), v1.next()]);
    await fx.viaA.updateInteraction(session.id, interaction.id, { append: 'hello ' });
    await fx.viaA.updateInteraction(session.id, interaction.id, { append: 'world', state: 'complete' });
    const appended = await delta.next<InteractionAppendEvent>((f) => 'version' in f && f.version === 4);
    expect(delta.frames.slice(1)).toEqual([
      { type: ServerEvent.InteractionAppend, session_id: session.id, owner: expect.any(String), interaction_id: interaction.id, version: 3, append: 'hello ', updated: expect.any(String) },
      { ...appended, append: 'world', state: 'complete' },
    ]);
    const update = await v1.next<InteractionUpdateEvent>((f) => 'version' in f && f.version === 4);
    expect(update).toMatchObject({ type: ServerEvent.InteractionUpdate, interaction: { response_message: 'hello world', state: 'complete', updated: appended.updated } });
    delta.close();
    v1.close();
  });

  it("keeps a streamed session's state on both replicas through the crash-window check's rounds: nothing dropped, nothing re-snapshotted", async () => {
    const session = await fx.viaA.createSession('streamed through the checks');
    const interaction = await fx.viaA.addInteraction(session.id, 'go');
    const viewers = [connect(fx.a, session.id), connect(fx.b, session.id)];
    await Promise.all(viewers.map((viewer) => viewer.next()));
    const before = await Promise.all([metrics(fx.a), metrics(fx.b)]);
    // About 3 s of appends: several rounds of the 700 ms check, each reading versions that
    // the events arriving right after it have already passed.
    const until = Date.now() + 3000;
    let appended = 0;
    while (Date.now() < until) {
      await fx.viaA.updateInteraction(session.id, interaction.id, { append: `${appended++};` });
    }
    const version = (await fx.viaA.getSession(session.id)).version;
    await Promise.all(viewers.map((viewer) => viewer.next((f) => 'version' in f && f.version === version)));
    const after = await Promise.all([metrics(fx.a), metrics(fx.b)]);
    for (const [i, replica] of ['A', 'B'].entries()) {
      expect({ replica, dropped: after[i].kept_states_dropped - before[i].kept_states_dropped, resyncs: after[i].resyncs - before[i].resyncs }).toEqual({ replica, dropped: 0, resyncs: 0 });
    }
    // And a new viewer on B is served from the kept state, with no read (the check's own
    // statements go on meanwhile: snapshot reads are what count here).
    const served = await metrics(fx.b);
    const late = connect(fx.b, session.id);
    expect((await late.next<SessionUpdateEvent>()).version).toBe(version);
    const now = await metrics(fx.b);
    expect({ reads: now.snapshot_queries - served.snapshot_queries, kept: now.kept_state_connects - served.kept_state_connects }).toEqual({ reads: 0, kept: 1 });
    for (const socket of [...viewers, late]) socket.close();
  });

  it('resumes with since after a restart: the delta from the database, then appends as deltas', async () => {
    const session = await fx.viaA.createSession('resume after restart');
    const kept = await fx.viaA.addInteraction(session.id, 'unchanged');
    const streamed = await fx.viaA.addInteraction(session.id, 'streamed');
    const client = connect(fx.b, session.id, '&delta=append');
    const first = await client.next<SessionUpdateEvent>();
    await restart('b');
    await fx.viaA.updateInteraction(session.id, streamed.id, { append: 'while b was away' });
    const again = connect(fx.b, session.id, `&delta=append&since=${first.version}`);
    const delta = await again.next<SessionUpdateEvent>();
    expect(delta).toMatchObject({ version: 4, since: 3 });
    expect(delta.session!.interactions.map((i) => i.id)).toEqual([streamed.id]);
    expect(mergeDelta(first.session!, delta.session!)).toEqual(await fx.viaA.getSession(session.id));
    await fx.viaA.updateInteraction(session.id, streamed.id, { append: '!' });
    expect(await again.next((f) => 'version' in f && f.version === 5)).toMatchObject({ type: ServerEvent.InteractionAppend, append: '!' });
    expect(kept.id).not.toBe(streamed.id);
    again.close();
  });

  it('serves from memory the database state, field for field, whichever replica wrote and whichever restarted', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(historyOp, fc.constantFrom('a', 'b'), fc.constantFrom('none', 'none', 'none', 'none', 'none', 'none', 'restart a', 'restart b')), { minLength: 1, maxLength: 8 }),
        async (steps) => {
          const session = await fx.viaA.createSession('property across replicas');
          // B follows the session, then nobody does: its channel lingers with the state.
          const follower = connect(fx.b, session.id);
          await follower.next();
          follower.close();
          await follower.closed;
          for (const [op, writer, event] of steps) {
            await writeOp(writer === 'a' ? fx.viaA : fx.b.api(fx.replicas.apiKey), session.id, op);
            if (event === 'restart a') await restart('a');
            if (event === 'restart b') await restart('b');
          }
          const database: Session = await fx.viaA.getSession(session.id);
          // Events travel after the commit: the kept state may need a moment to reach the last version.
          let frame: SessionUpdateEvent | undefined;
          let statements = -1;
          await eventually(async () => {
            const before = await metrics(fx.b);
            const socket = connect(fx.b, session.id);
            frame = await socket.next<SessionUpdateEvent>();
            statements = (await metrics(fx.b)).sql_statements - before.sql_statements;
            socket.close();
            await socket.closed;
            return frame.version === database.version;
          }, 'a connect on B at the database version');
          expect(frame!.session).toEqual(database);
          // After a restart of B its first connect reads; from then on B answers from memory.
          if (statements !== 0) {
            const before = await metrics(fx.b);
            const socket = connect(fx.b, session.id);
            expect((await socket.next<SessionUpdateEvent>()).session).toEqual(database);
            expect((await metrics(fx.b)).sql_statements - before.sql_statements).toBe(0);
            socket.close();
          }
        },
      ),
      { numRuns: 6 },
    );
  }, 300_000);
});
