// Fan-out measured alternately: the service and a bare ws server (the ws peer, started for
// this scenario on its own port and pinned like the service) each hold N subscribers of one
// session at the same time, and writes alternate between them, one to the service, one to the
// bare server, and so on. Measured one after the other (the fanout scenario), each target
// sees other minutes of a noisy machine: there, each one's own median at 10,000 subscribers
// moved by a third between runs. Here both see the same moments, as connect-kinds does for
// connects.
import { summarize, round, fmt } from '../lib/stats.mjs';
import { TARGETS, sleep } from '../lib/context.mjs';

export default {
  name: 'fanout-paired',
  title: 'one write to N subscribers, writes alternated between the service and a bare ws server',
  targets: ['service'],
  async run(ctx) {
    const { T, R, opts, gens } = ctx;
    const n = Math.max(...opts.fanout);
    const writes = opts['fanout-writes'];
    const F = { name: 'ws', ...TARGETS.ws, label: 'bare ws', port: opts.port + 5, key: null };
    F.srv = await ctx.launch(F, { logName: 'fanout-paired-ws' });
    try {
      const [s] = await ctx.createSessions(T, 1, 1, `fanout paired ${n}`);
      const [f] = await ctx.createSessions(F, 1, 1, `fanout paired ${n}`);
      const sides = [
        { name: 'service', target: T, session: s, writes: [] },
        { name: 'ws', target: F, session: f, writes: [] },
      ];
      const pools = [];
      for (const side of sides) pools.push(await ctx.connectPool(side.target, Array.from({ length: n }, () => ctx.wsSpec(side.target, side.session.id)), false));
      await sleep(500);
      // One unmeasured write to each first, as in the fanout scenario.
      for (const side of sides) {
        side.session.version = (await ctx.sessionVersion(side.target, side.session.id)) ?? side.session.version;
        await write(ctx, side);
      }
      await gens.all('record', { on: true });
      for (let k = 0; k < writes; k++) {
        for (const side of sides) {
          side.writes.push(await write(ctx, side));
          await sleep(20);
        }
      }
      const recs = await gens.all('takeRecording');
      await gens.all('record', { on: false });
      const rows = {};
      for (const side of sides) {
        const lat = [];
        const afterFirst = [];
        let delivered = 0;
        for (const w of side.writes) {
          const times = recs.flatMap((r) => r[`${side.session.id}:${w.version}`] ?? []);
          delivered += times.length;
          if (!times.length) continue;
          const firstAt = Math.min(...times);
          for (const t of times) {
            lat.push(t - w.t0);
            afterFirst.push(t - firstAt);
          }
        }
        rows[side.name] = { writes: side.writes.length, delivered, expected: side.writes.length * n, ...summarize(lat), after_first_delivery: summarize(afterFirst) };
      }
      const sv = rows.service;
      const bare = rows.ws;
      R.fanout_paired = {
        subscribers: n,
        connected: pools.map((p) => p.connected),
        service: sv,
        bare_ws: bare,
        p99_ratio: sv.p99 && bare.p99 ? round(sv.p99 / bare.p99, 2) : null,
        median_ratio: sv.median && bare.median ? round(sv.median / bare.median, 2) : null,
        after_first_p99_ratio: sv.after_first_delivery.p99 && bare.after_first_delivery.p99 ? round(sv.after_first_delivery.p99 / bare.after_first_delivery.p99, 2) : null,
      };
      ctx.log(
        `  fan-out paired N=${n}: service median ${fmt(sv.median, ' ms')} p99 ${fmt(sv.p99, ' ms')}, bare ws median ${fmt(bare.median, ' ms')} p99 ${fmt(bare.p99, ' ms')} ` +
          `(p99 ${fmt(R.fanout_paired.p99_ratio, '×')}, median ${fmt(R.fanout_paired.median_ratio, '×')}; delivered ${sv.delivered}/${sv.expected} + ${bare.delivered}/${bare.expected})`,
      );
    } finally {
      await gens.all('closeAll', {}, 120000);
      await ctx.stop(F.srv, 10000);
    }
  },
};

/** One write to the side's session; resolves once every subscriber holds its version. */
async function write(ctx, side) {
  const w = await ctx.timedWrite(side.target, side.session);
  side.session.version += 1;
  await ctx.gens.all('waitVersion', { sid: side.session.id, version: side.session.version, timeoutMs: 15000 }, 30000);
  return { ...w, version: side.session.version };
}
