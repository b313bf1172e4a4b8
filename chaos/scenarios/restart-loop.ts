import type { Session } from '../../src/protocol/protocol.js';
import { Follower, viewOf } from '../lib/follower.js';
import { percentile, sleep, timeUntil, type Scenario } from '../lib/scenario.js';
import { Stack } from '../lib/stack.js';
import { Writer } from '../lib/writer.js';

const SESSIONS = 20;
const CLIENTS = 200;

/**
 * Two replicas; 200 reconnecting clients on 20 sessions of replica A; a writer appending
 * unique markers through replica B at ~50/s; A restarted again and again, alternating
 * SIGKILL and SIGTERM. Each time every client must hold the database's version (as read
 * when A is ready again) within 3 s; no client may ever see a frame out of order; at the
 * end every acknowledged marker is in the database exactly once and every client equals it.
 */
export const restartLoop: Scenario = {
  name: 'restart-loop',
  async run({ quick, log }, guarantees) {
    const restarts = quick ? 4 : 30;
    const stack = await Stack.create();
    try {
      const nats = await stack.nats();
      const env = { NATS_URL: nats.url };
      let a = await stack.start(env);
      const b = await stack.start(env);
      const viaB = b.api(stack.apiKey);
      const sessions: Session[] = [];
      for (let i = 0; i < SESSIONS; i++) {
        const session = await viaB.createSession(`restart ${i}`);
        await viaB.addInteraction(session.id, `prompt ${i}`);
        sessions.push(await viaB.getSession(session.id));
      }
      const ids = sessions.map((s) => s.id);
      const followers = Array.from({ length: CLIENTS }, (_, i) => new Follower(a.wsBase, ids[i % SESSIONS], stack.apiKey).start());
      const writer = new Writer(viaB, sessions, 50).start();
      const catchUps: number[] = [];
      for (let round = 1; round <= restarts; round++) {
        await sleep(quick ? 500 : 1000);
        const signal = round % 2 ? 'SIGKILL' : 'SIGTERM';
        await a.stop(signal);
        await sleep(200);
        a = await stack.start(env, a.port);
        const target = await stack.versions(ids);
        const took = await timeUntil(() => followers.every((f) => f.version >= (target.get(f.sessionId) ?? 0)), 10_000);
        catchUps.push(took);
        guarantees.check(took >= 0 && took <= 3000, `restart ${round} (${signal}): every client held the database version ${took < 0 ? 'not within 10 s' : `after ${took} ms`} (bound 3000 ms)`);
      }
      await writer.stop();
      const final = await stack.views(ids, viaB);
      const converged = await timeUntil(() => followers.every((f) => f.version === final.get(f.sessionId)!.version), 5000);
      guarantees.check(converged >= 0, 'every client reached the final database version');
      const unequal = followers.filter((f) => !f.session || JSON.stringify(viewOf(f.session)) !== JSON.stringify(final.get(f.sessionId))).length;
      guarantees.check(unequal === 0, `${unequal} clients differ from the database at the end`);
      const disorder = followers.flatMap((f) => f.disorder);
      guarantees.check(disorder.length === 0, `${disorder.length} frames out of order (first: ${disorder[0]})`);
      const markers = writer.audit(final);
      guarantees.check(markers.lost === 0, `${markers.lost} acknowledged markers missing from the database`);
      guarantees.check(markers.duplicated === 0, `${markers.duplicated} markers in the database more than once`);
      for (const follower of followers) follower.stop();
      log(`catch-up after ready per restart (ms): ${catchUps.join(' ')}`);
      return {
        restarts,
        clients: CLIENTS,
        'acknowledged writes': writer.acknowledged,
        'failed writes (not acknowledged)': writer.failed,
        'lost acknowledged writes': markers.lost,
        'duplicated markers': markers.duplicated,
        'frames out of order': disorder.length,
        'client reconnects': followers.reduce((sum, f) => sum + f.connects, 0) - CLIENTS,
        'every client current after ready, p50 / max (ms)': `${percentile(catchUps, 50)} / ${Math.max(...catchUps)}`,
      };
    } finally {
      await stack.dispose();
    }
  },
};
