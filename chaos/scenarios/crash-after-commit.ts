import type { Session } from '../../src/protocol/protocol.js';
import { Follower } from '../lib/follower.js';
import { percentile, round, sleep, timeUntil, type Scenario } from '../lib/scenario.js';
import { Stack } from '../lib/stack.js';

const FAST_VERSION_CHECK_MS = 700;

/**
 * A replica commits a change and dies before publishing it (the test-only fault
 * `CHAOS_FAULT=crash-after-commit`, armed only with NODE_ENV=test). Clients of the
 * surviving replica must hold that change within 2 s (CrashWindowCheck). Also measures the
 * mechanism's steady-state cost: the database time of its reads per second for 10,000
 * followed sessions, and the statements it adds per second on an idle replica.
 */
export const crashAfterCommit: Scenario = {
  name: 'crash-after-commit',
  async run({ quick, log }, guarantees) {
    const crashes = quick ? 2 : 10;
    const stack = await Stack.create();
    try {
      const nats = await stack.nats();
      const env = { NATS_URL: nats.url, FAST_VERSION_CHECK_MS: String(FAST_VERSION_CHECK_MS) };
      const a = await stack.start(env);
      const api = a.api(stack.apiKey);
      const sessions: Session[] = [];
      for (let i = 0; i < 5; i++) {
        const session = await api.createSession(`crash ${i}`);
        await api.addInteraction(session.id, 'p');
        sessions.push(await api.getSession(session.id));
      }
      const followers = sessions.flatMap((s) => Array.from({ length: 4 }, () => new Follower(a.wsBase, s.id, stack.apiKey).start()));
      await timeUntil(() => followers.every((f) => f.version > 0), 10_000);
      const heldAfter: number[] = [];
      for (let crash = 0; crash < crashes; crash++) {
        const doomed = await stack.start({ ...env, NODE_ENV: 'test', CHAOS_FAULT: 'crash-after-commit' });
        const session = sessions[crash % sessions.length];
        const reply = await doomed.api(stack.apiKey).request('PATCH', `/sessions/${session.id}/interactions/${session.interactions[0].id}`, { append: `crash ${crash};` }).catch(() => ({ status: 0 }));
        const failedAt = performance.now();
        const exit = await doomed.exited;
        guarantees.check(reply.status === 0 && exit.signal === 'SIGKILL', `crash ${crash}: the faulty replica died mid-request (status ${reply.status}, ${exit.signal ?? exit.code})`);
        const version = (await stack.versions([session.id])).get(session.id)!;
        const committed = (await api.getSession(session.id)).interactions[0].response_message.includes(`crash ${crash};`);
        guarantees.check(committed, `crash ${crash}: the change was committed before the crash`);
        const took = await timeUntil(() => followers.filter((f) => f.sessionId === session.id).every((f) => f.version >= version), 10_000);
        const since = took < 0 ? -1 : Math.round(performance.now() - failedAt);
        heldAfter.push(since);
        guarantees.check(since >= 0 && since <= 2000, `crash ${crash}: clients of the surviving replica held the change ${since < 0 ? 'not within 10 s' : `after ${since} ms`} (bound 2000 ms)`);
      }
      guarantees.check(followers.every((f) => f.disorder.length === 0), 'no client saw a frame out of order');

      // Statements the check adds on a quiet replica following 5 sessions: one per round.
      const before = await sqlStatements(a.baseUrl);
      await sleep(5000);
      const idleStatementsPerSecond = round(((await sqlStatements(a.baseUrl)) - before) / 5, 1);
      log(`quiet replica following ${sessions.length} sessions: ${idleStatementsPerSecond} statements/s`);
      for (const follower of followers) follower.stop();

      // The read the check makes, against 10,000 sessions: its database time per round.
      const owner = sessions[0].owner;
      await stack.db.query(`INSERT INTO sessions (id, owner_id, name) SELECT gen_random_uuid(), $1, 'cost' FROM generate_series(1, 10000)`, [owner]);
      const { rows } = await stack.db.query<{ id: string }>('SELECT id FROM sessions ORDER BY random() LIMIT 10000');
      const ids = rows.map((row) => row.id);
      const rounds = quick ? 10 : 50;
      const perRound: number[] = [];
      const serverPerRound: number[] = [];
      const inList = (batch: string[]) => `SELECT s.id AS id, s.version AS version FROM sessions s WHERE s.id IN (${batch.map((_, i) => `$${i + 1}`).join(',')})`;
      for (let r = 0; r < rounds; r++) {
        const start = performance.now();
        let server = 0;
        for (let at = 0; at < ids.length; at += 1000) {
          const batch = ids.slice(at, at + 1000);
          await stack.db.query(inList(batch), batch);
          // The same statement once more under EXPLAIN ANALYZE: the server's own time for it.
          const plan = await stack.db.query<{ 'QUERY PLAN': { 'Execution Time': number; 'Planning Time': number }[] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${inList(batch)}`, batch);
          server += plan.rows[0]['QUERY PLAN'][0]['Execution Time'] + plan.rows[0]['QUERY PLAN'][0]['Planning Time'];
        }
        perRound.push(performance.now() - start);
        serverPerRound.push(server);
      }
      // Half the wall time was the EXPLAIN twin: count one of the two.
      const msPerRound = percentile(perRound, 50) / 2;
      const serverMsPerRound = percentile(serverPerRound, 50);
      const roundsPerSecond = 1000 / FAST_VERSION_CHECK_MS;
      return {
        crashes,
        'statements/s on a quiet replica following 5 sessions': idleStatementsPerSecond,
        'clients held the lost change after (ms), p50 / max': `${percentile(heldAfter, 50)} / ${Math.max(...heldAfter)}`,
        'cost per 10,000 followed sessions: statements/s': round(10 * roundsPerSecond, 1),
        'cost per 10,000 followed sessions: server time per round (planning + execution, p50 ms)': round(serverMsPerRound, 1),
        'cost per 10,000 followed sessions: database server time per second (ms/s)': round(serverMsPerRound * roundsPerSecond, 1),
        'cost per 10,000 followed sessions: round trips as the replica sees them, per second (ms/s, ~)': round(msPerRound * roundsPerSecond, 1),
      };
    } finally {
      await stack.dispose();
    }
  },
};

async function sqlStatements(baseUrl: string): Promise<number> {
  const response = await fetch(`${baseUrl}/metrics`, { headers: { accept: 'application/json' } });
  const text = await response.text();
  if ((response.headers.get('content-type') ?? '').includes('json')) return (JSON.parse(text) as { sql_statements: number }).sql_statements;
  const match = /^\w*sql_statements\w*\s+([0-9.e+]+)/m.exec(text);
  return match ? Number(match[1]) : NaN;
}
