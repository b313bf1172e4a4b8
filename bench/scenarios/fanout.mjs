// Fan-out: one REST append to its delivery at each of N subscribers of one session, then,
// at the largest N, writes kept in flight for a few seconds (messages delivered per second).
import { procStat } from '../lib/proc.mjs';
import { genCpuSince } from '../lib/generators.mjs';
import { summarize, round, fmt } from '../lib/stats.mjs';
import { now, sleep } from '../lib/context.mjs';

export default {
  name: 'fanout',
  title: 'one write to N subscribers of a session; saturation at the largest N',
  targets: ['service', 'socketio', 'ws'],
  async run(ctx) {
    const { T, R, opts, gens } = ctx;
    R.fanout = [];
    const largest = Math.max(...opts.fanout);
    for (const n of opts.fanout) {
      const [s] = await ctx.createSessions(T, 1, 1, `fanout ${n}`);
      const specs = Array.from({ length: n }, () => ctx.wsSpec(T, s.id));
      const pc = await ctx.connectPool(T, specs, false);
      await sleep(500);
      s.version = (await ctx.sessionVersion(T, s.id)) ?? s.version;
      // One write first, not measured, for every target alike: the first fan-out to N new
      // sockets also pays for compiling the path, which is not what the figure is about.
      await ctx.timedWrite(T, s);
      s.version += 1;
      await gens.all('waitVersion', { sid: s.id, version: s.version, timeoutMs: 15000 }, 30000);
      await gens.all('record', { on: true });
      const c0 = await gens.cpuMark();
      const s0 = procStat(T.srv.pid);
      const w0 = now();
      const writes = [];
      for (let k = 1; k <= opts['fanout-writes']; k++) {
        const w = await ctx.timedWrite(T, s);
        const v = s.version + 1;
        s.version = v;
        const waits = await gens.all('waitVersion', { sid: s.id, version: v, timeoutMs: 15000 }, 30000);
        writes.push({ ...w, version: v, reached: waits.reduce((a, x) => a + x.reached, 0) });
        await sleep(20);
      }
      const c1 = await gens.cpuMark();
      const s1 = procStat(T.srv.pid);
      const wall = now() - w0;
      const recs = await gens.all('takeRecording');
      await gens.all('record', { on: false });
      const lat = [];
      const lastDelivery = [];
      // Each delivery after the same write's first one: the fan-out proper, without the write's
      // own path (REST, database, bus), which the bare server does not have.
      const afterFirst = [];
      const perWrite = [];
      let delivered = 0;
      for (const w of writes) {
        const times = recs.flatMap((r) => r[`${s.id}:${w.version}`] ?? []);
        delivered += times.length;
        for (const t of times) lat.push(t - w.t0);
        if (times.length) {
          const firstAt = Math.min(...times);
          for (const t of times) afterFirst.push(t - firstAt);
          const first = firstAt - w.t0;
          const last = Math.max(...times) - w.t0;
          lastDelivery.push(last);
          // `at`: ms since the server process was spawned, to set beside its --trace-gc lines.
          perWrite.push({ ack: round(w.ack, 1), first: round(first, 1), last: round(last, 1), at: Math.round(w.t0 - T.srv.startedAt) });
        }
      }
      const row = {
        subscribers: n,
        connected: pc.connected,
        connect_failed: pc.failed,
        writes: writes.length,
        delivered,
        expected: writes.length * pc.connected,
        ...summarize(lat),
        last_delivery: summarize(lastDelivery),
        after_first_delivery: summarize(afterFirst),
        write_ack: summarize(writes.map((w) => w.ack)),
        // Each write's answer, first and last delivery (ms after it was sent): a p99 over
        // pooled deliveries is the tail of the slowest write or two, which this shows.
        per_write: perWrite,
        server_cpu_percent: round(((s1.cpuMs - s0.cpuMs) / wall) * 100, 0),
        generator_cpu: genCpuSince(c0, c1),
      };
      ctx.log(
        `  fan-out ${T.label} N=${n}: write->delivery median ${fmt(row.median, ' ms')} p99 ${fmt(row.p99, ' ms')}, ` +
          `last subscriber median ${fmt(row.last_delivery.median, ' ms')} (writes ${row.writes}, delivered ${delivered}/${row.expected}, ` +
          `connected ${pc.connected} in ${pc.seconds}s, generator CPU ${row.generator_cpu.percent_of_one_core}%)`,
      );
      if (n === largest) {
        row.saturation = await ctx.saturate(T, [s], opts['saturation-inflight'], opts['saturation-seconds'], pc.connected);
        const sat = row.saturation;
        ctx.log(
          `  saturation ${T.label} 1 session x ${n}: ${fmt(sat.messages_per_second)} msg/s ` +
            `(${sat.writes} writes, ${sat.writes_in_flight} in flight, delivered ${sat.delivered}/${sat.expected}, ` +
            `server CPU ${sat.server_cpu_percent}%, generator CPU ${sat.generator_cpu.percent_of_one_core}%, writer CPU ${sat.writer_cpu_percent}%)`,
        );
      }
      R.fanout.push(row);
      await gens.all('closeAll', {}, 120000);
      await sleep(300);
    }
  },
};
