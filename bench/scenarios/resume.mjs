// Resume: a reconnect to a session of `--resume-interactions` interactions after one of
// them changed, with `since` (v1.1: the first frame holds only what changed) and without
// (the whole session), sample by sample in alternation. Reports the first frame's bytes and
// the connect-to-first-frame time of each, SQL per connect, and checks that merging the
// delta into the state held at `since` equals the full snapshot.
import { expectOk } from '../lib/http.mjs';
import { openProbe, mergeSince } from '../lib/probe.mjs';
import { mdelta } from '../lib/metrics.mjs';
import { summarize, round, fmt } from '../lib/stats.mjs';
import { HOST } from '../lib/context.mjs';

export default {
  name: 'resume',
  title: 'reconnect to a 200-interaction session with one changed interaction, with and without since',
  targets: ['service', 'ws'],
  async run(ctx) {
    const { T, R, opts, gens } = ctx;
    const n = opts['resume-interactions'];
    const [s] = await ctx.createSessions(T, 1, n, 'resume');
    const url = (since) => {
      const q = new URLSearchParams({ session_id: s.id });
      if (T.key) q.set('access_token', T.key);
      if (since) q.set('since', String(since));
      return `ws://${HOST}:${T.port}/api/v1/ws/user?${q}`;
    };
    // The state a client held before it lost its connection.
    const before = await openProbe(url());
    await before.close();
    if (!before.state) throw new Error(`no snapshot (close ${before.closeCode})`);
    const held = before.state;
    const since = before.version;
    const full = await expectOk(ctx.api(T, 'GET', `/sessions/${s.id}`), 'get session');
    const changed = full.interactions[Math.floor(full.interactions.length / 2)];
    await expectOk(ctx.api(T, 'PATCH', `/sessions/${s.id}/interactions/${changed.id}`, { append: ctx.APPEND }), 'change one interaction');

    // What the frames hold, checked once with a parsing client.
    const withSince = await openProbe(url(since));
    const without = await openProbe(url());
    await Promise.all([withSince.close(), without.close()]);
    const f = withSince.first?.json;
    const sinceHonoured = !!f && typeof f.since === 'number';
    const merged = sinceHonoured ? mergeSince(held, f.session) : f?.session;
    const equal = !!merged && JSON.stringify(merged) === JSON.stringify(without.first?.json?.session);

    // Timed samples on a load generator, alternating, so both see the same conditions.
    const spec = (u) => ({ kind: 'ws', url: u, sid: s.id });
    for (let i = 0; i < 5; i++) await gens.first.call('connectRound', { specs: [spec(url(since)), spec(url())], inflight: 1 });
    // SQL per connect of each kind: a block of connects between two /metrics readings.
    const sqlPer = {};
    for (const [k, u] of [['since', url(since)], ['full', url()]]) {
      const m0 = await ctx.metrics(T);
      for (let i = 0; i < 10; i++) await gens.first.call('connectRound', { specs: [spec(u)] });
      const d = mdelta(m0, await ctx.metrics(T), 'sql_statements');
      sqlPer[k] = d === null ? null : round(d / 10, 2);
    }
    const samples = { since: { times: [], bytes: [] }, full: { times: [], bytes: [] } };
    for (let i = 0; i < opts['resume-samples']; i++) {
      for (const [k, u] of [['since', url(since)], ['full', url()]]) {
        const r = await gens.first.call('connectRound', { specs: [spec(u)] });
        samples[k].times.push(...r.times);
        samples[k].bytes.push(...r.bytes);
      }
    }
    const row = (k) => ({
      first_frame_bytes: summarize(samples[k].bytes).median,
      ...summarize(samples[k].times),
      sql_statements_per_connect: sqlPer[k],
    });
    R.resume = {
      interactions: n,
      changed_interactions: 1,
      since,
      since_honoured: sinceHonoured,
      interactions_in_first_frame_with_since: f?.session?.interactions?.length ?? null,
      merged_equals_full_snapshot: equal,
      with_since: row('since'),
      without_since: row('full'),
      goal_first_frame_bytes: 2048,
    };
    if (!sinceHonoured) {
      R.resume.feature_missing = 'since: the first frame was a full snapshot without `since`';
      ctx.note(`resume: ${T.label} does not answer \`since\` yet (${R.resume.feature_missing})`);
    }
    const w = R.resume.with_since;
    const wo = R.resume.without_since;
    ctx.log(
      `  resume ${T.label} ${n} interactions, 1 changed: with since first frame ${fmt(w.first_frame_bytes, ' B')} in ${fmt(w.median, ' ms')} (p99 ${fmt(w.p99, ' ms')}, SQL/connect ${fmt(w.sql_statements_per_connect)}); ` +
        `without ${fmt(wo.first_frame_bytes, ' B')} in ${fmt(wo.median, ' ms')} (p99 ${fmt(wo.p99, ' ms')}, SQL/connect ${fmt(wo.sql_statements_per_connect)}); ` +
        `since honoured ${sinceHonoured} (${fmt(R.resume.interactions_in_first_frame_with_since)} interactions), merged = full snapshot: ${equal}`,
    );
  },
};
