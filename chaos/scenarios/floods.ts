import WebSocket from 'ws';
import { WS_PATH, type Session } from '../../src/protocol/protocol.js';
import { Follower } from '../lib/follower.js';
import { readGauges } from '../lib/gauges.js';
import { sleep, timeUntil, type Scenario } from '../lib/scenario.js';
import { Stack } from '../lib/stack.js';

const RSS_GROWTH_BOUND = 256 * 1024 * 1024;
const CHUNK = 'c'.repeat(2048);

/**
 * (1) Clients that stop reading while a writer streams 2 KB chunks as fast as it can: the
 * server drops them (their unsent data is capped), readers of the same session stay current.
 * (2) Connections opened and dropped abruptly, in rounds: RSS bounded, and /metrics back to
 * zero connections and zero bus subscriptions after each round.
 */
export const floods: Scenario = {
  name: 'floods',
  async run({ quick, log }, guarantees) {
    const streamMs = quick ? 8000 : 20_000;
    const flood = quick ? 1000 : 5000;
    const rounds = quick ? 1 : 3;
    const stack = await Stack.create();
    try {
      // A session's subscription outlives its last socket by CHANNEL_LINGER_MS (30 s): a short
      // linger lets "back to zero" be checked, the expiry of lingering channels with it.
      const service = await stack.start({ CHANNEL_LINGER_MS: '1000' });
      let exited = false;
      void service.exited.then(() => (exited = true));
      const api = service.api(stack.apiKey);
      const session: Session = await api.createSession('stream');
      await sleep(300);
      const rssStart = (await readGauges(service.baseUrl)).rss;

      // (1) Slow consumers next to readers.
      const readers = Array.from({ length: 20 }, () => new Follower(service.wsBase, session.id, stack.apiKey, false).start());
      const stalled = await Promise.all(Array.from({ length: 20 }, () => stalledClient(service.wsBase, session.id, stack.apiKey)));
      await timeUntil(() => readers.every((r) => r.version > 0), 10_000);
      const ends = performance.now() + streamMs;
      let appends = 0;
      let failed = 0;
      let interaction = (await api.addInteraction(session.id, 'stream')).id;
      const writers = Array.from({ length: 4 }, async () => {
        while (performance.now() < ends) {
          // A fresh interaction every 200 chunks: each change carries its whole interaction.
          if (appends % 200 === 199) interaction = (await api.addInteraction(session.id, 'stream')).id;
          const reply = await api.request('PATCH', `/sessions/${session.id}/interactions/${interaction}`, { append: CHUNK }).catch(() => ({ status: 0 }));
          if (reply.status === 200) appends++;
          else failed++;
        }
      });
      await Promise.all(writers);
      const version = (await stack.versions([session.id])).get(session.id)!;
      const readersCurrent = await timeUntil(() => readers.every((r) => r.version >= version), 10_000);
      const dropped = stalled.filter((s) => s.closed()).length;
      const rssAfterStream = (await readGauges(service.baseUrl)).rss;
      guarantees.check(readersCurrent >= 0 && readersCurrent <= 2000, `readers held the final version ${readersCurrent < 0 ? 'not within 10 s' : `${readersCurrent} ms`} after the stream ended (bound 2000 ms)`);
      guarantees.check(readers.every((r) => r.disorder.length === 0 && r.connects === 1), 'readers saw every change in order on their one connection');
      guarantees.check(failed === 0, `${failed} appends failed while slow consumers were attached`);
      guarantees.check(!exited, 'the process survived the slow consumers');
      for (const reader of readers) reader.stop();
      for (const client of stalled) client.socket.terminate();
      log(`streamed ${appends} chunks of 2 KB; ${dropped} of ${stalled.length} stalled clients dropped by the server`);

      // (2) Connection floods.
      const roundFigures: string[] = [];
      let leaked = '';
      for (let round = 1; round <= rounds; round++) {
        const opened = await floodOnce(service.wsBase, session.id, stack.apiKey, flood);
        const zero = await timeUntil(async () => {
          const gauges = await readGauges(service.baseUrl);
          leaked = `${gauges.wsConnections} connections, ${gauges.busSubscriptions} subscriptions`;
          return gauges.wsConnections === 0 && gauges.busSubscriptions === 0;
        }, 15_000);
        guarantees.check(zero >= 0, `flood round ${round}: /metrics not back to zero within 15 s (${leaked})`);
        const rss = (await readGauges(service.baseUrl)).rss;
        roundFigures.push(`${opened} opened, back to zero in ${zero} ms, RSS ${Math.round(rss / 1048576)} MiB`);
      }
      const rssEnd = (await readGauges(service.baseUrl)).rss;
      guarantees.check(rssEnd - rssStart < RSS_GROWTH_BOUND, `RSS grew by ${Math.round((rssEnd - rssStart) / 1048576)} MiB over the floods (bound ${RSS_GROWTH_BOUND / 1048576} MiB)`);
      guarantees.check(!exited, 'the process survived the floods');
      for (const [n, line] of roundFigures.entries()) log(`flood round ${n + 1}: ${line}`);
      return {
        'stream: 2 KB chunks appended': appends,
        'stream: stalled clients dropped by the server': `${dropped}/${stalled.length}`,
        'stream: readers current after the stream (ms)': readersCurrent,
        'stream: RSS after (MiB)': Math.round(rssAfterStream / 1048576),
        'flood: connections per round × rounds': `${flood} × ${rounds}`,
        'flood: rounds': roundFigures.join('; '),
        'RSS start → end (MiB)': `${Math.round(rssStart / 1048576)} → ${Math.round(rssEnd / 1048576)}`,
      };
    } finally {
      await stack.dispose();
    }
  },
};

/** A client that reads its first frame, then stops reading: its TCP window fills up. */
async function stalledClient(wsBase: string, sessionId: string, key: string) {
  const socket = new WebSocket(`${wsBase}${WS_PATH}?session_id=${sessionId}&access_token=${encodeURIComponent(key)}`);
  let closed = false;
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    socket.once('message', () => resolve());
    socket.once('close', () => resolve());
  });
  (socket as unknown as { _socket: { pause(): void; on(event: string, listener: () => void): void } })._socket.pause();
  (socket as unknown as { _socket: { on(event: string, listener: () => void): void } })._socket.on('close', () => (closed = true));
  return { socket, closed: () => closed };
}

/** Opens `count` connections, 250 at a time, each dropped without a close frame as soon as it is open. */
async function floodOnce(wsBase: string, sessionId: string, key: string, count: number): Promise<number> {
  let opened = 0;
  for (let start = 0; start < count; start += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, count - start) }, (_, i) =>
        new Promise<void>((resolve) => {
          const socket = new WebSocket(`${wsBase}${WS_PATH}?session_id=${sessionId}&access_token=${encodeURIComponent(key)}`);
          socket.on('error', () => resolve());
          // Some drop right after the upgrade, some after the first frame, some mid-handshake.
          const when = (start + i) % 3;
          if (when === 2) setTimeout(() => (socket.terminate(), resolve()), 1);
          socket.once(when === 0 ? 'open' : 'message', () => {
            opened++;
            socket.terminate();
            resolve();
          });
          socket.once('close', () => resolve());
        }),
      ),
    );
  }
  return opened;
}
