// Fan-out spread: writes round-robin over the pool's sessions (at most one in flight per
// session, so each (session, version) maps to exactly one timed write), then saturation.
import { ensurePool } from '../lib/pool.mjs';
import { genCpuSince } from '../lib/generators.mjs';
import { summarize, round, fmt } from '../lib/stats.mjs';
import { now } from '../lib/context.mjs';

export default {
  name: 'spread',
  title: 'fan-out over many sessions (the pool); saturation',
  targets: ['service', 'socketio', 'ws'],
  async run(ctx) {
    const { T, R, opts, gens } = ctx;
    const { sessions, per } = await ensurePool(ctx);
    const S = sessions.length;
    await gens.all('record', { on: true });
    const c0 = await gens.cpuMark();
    const inflight = Math.min(opts['spread-inflight'], S);
    const writes = [];
    let next = 0;
    const total = opts['spread-writes'];
    const w0 = now();
    await Promise.all(
      Array.from({ length: inflight }, async () => {
        while (next < total) {
          const s = sessions[next++ % S];
          const w = await ctx.timedWrite(T, s);
          if (w.status === 200) {
            s.version += 1;
            writes.push({ ...w, sid: s.id, version: s.version });
          }
        }
      }),
    );
    const writeSecs = (now() - w0) / 1000;
    const want = writes.length * per;
    // Until every subscriber holds its session's last written version (or 15 s): counting
    // frames instead could stop early on frames that are not these writes' deliveries.
    const last = {};
    for (const w of writes) last[w.sid] = Math.max(last[w.sid] ?? 0, w.version);
    await gens.all('waitVersions', { versions: last, timeoutMs: 15000 }, 30000);
    const c1 = await gens.cpuMark();
    const recs = await gens.all('takeRecording');
    await gens.all('record', { on: false });
    await gens.all('counters', { reset: true });
    const lat = [];
    let delivered = 0;
    for (const w of writes) {
      const times = recs.flatMap((r) => r[`${w.sid}:${w.version}`] ?? []);
      delivered += times.length;
      for (const t of times) lat.push(t - w.t0);
    }
    R.spread = {
      sessions: S,
      subscribers_per_session: per,
      writes: writes.length,
      writes_in_flight: inflight,
      writes_per_second: round(writes.length / writeSecs, 0),
      delivered,
      expected: want,
      ...summarize(lat),
      write_ack: summarize(writes.map((w) => w.ack)),
      generator_cpu: genCpuSince(c0, c1),
    };
    ctx.log(
      `  fan-out ${T.label} ${S} sessions x ${per}: write->delivery median ${fmt(R.spread.median, ' ms')} p99 ${fmt(R.spread.p99, ' ms')} ` +
        `(${writes.length} writes at ${R.spread.writes_per_second}/s, ${inflight} in flight, delivered ${delivered}/${want}, generator CPU ${R.spread.generator_cpu.percent_of_one_core}%)`,
    );
    const sat = (R.spread.saturation = await ctx.saturate(T, sessions, Math.min(S, opts['spread-saturation-inflight']), opts['saturation-seconds'], per));
    ctx.log(
      `  saturation ${T.label} ${S} sessions x ${per}: ${fmt(sat.messages_per_second)} msg/s ` +
        `(${sat.writes} writes, delivered ${sat.delivered}/${sat.expected}, ` +
        `server CPU ${sat.server_cpu_percent}%, generator CPU ${sat.generator_cpu.percent_of_one_core}%, writer CPU ${sat.writer_cpu_percent}%)`,
    );
  },
};
