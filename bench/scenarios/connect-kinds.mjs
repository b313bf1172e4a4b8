// Connect-to-state by kind of session, sequential connects, each kind measured beside a bare
// ws server (the ws peer's /floor, started on its own port for this scenario and pinned like
// the service) sending a frame of the same size, connect for connect: one to the service,
// one to the bare server, and so on, so that both see the same moments of a noisy machine.
// - followed: another socket on this process already follows the session;
// - lingering: nobody follows it, but the last socket left `--linger-gap-ms` ago (and the
//   bare server, too, is connected to that long after its previous connect: a process idle
//   for a while answers its next connect slower, whatever it serves from);
// - cold: nobody has followed it on this process (a fresh session each connect);
// - cold, BUS_SUBSCRIPTION_SCOPE=session (with NATS only): the same on a second process, a
//   replica run with one subscription per session, so each cold connect waits for its own
//   subscription round trip before its read (the default per-owner subscription of a user
//   already followed there needs none).
// SQL statements and snapshot queries per connect of each kind come from /metrics.
import { warmUp } from '../lib/connect.mjs';
import { procStat } from '../lib/proc.mjs';
import { mdelta } from '../lib/metrics.mjs';
import { genCpuSince } from '../lib/generators.mjs';
import { summarize, round, fmt } from '../lib/stats.mjs';
import { HOST, TARGETS, now, sleep } from '../lib/context.mjs';

export default {
  name: 'connect-kinds',
  title: 'connect-to-state for followed, lingering and cold sessions vs the bare server',
  targets: ['service'],
  async run(ctx) {
    const { T, R, opts, gens } = ctx;
    const size = opts['kinds-interactions'];
    const samples = opts['connect-samples'];
    const gap = opts['linger-gap-ms'];
    const followed = await ctx.createSessions(T, 4, size, 'followed');
    const lingering = await ctx.createSessions(T, 1, size, 'lingering');
    const cold = await ctx.createSessions(T, samples, size, 'cold');
    const perSession = ctx.env.bus === 'nats' ? await ctx.createSessions(T, samples, size, 'cold per session') : null;
    const spec = (s) => ctx.wsSpec(T, s.id);
    R.connect_kinds = { interactions: size, linger_gap_ms: gap, rows: {}, floors: {} };

    await warmUp(ctx, (i) => spec(followed[i % followed.length]));
    const probe = await gens.first.call('connectRound', { specs: [spec(followed[0])] });
    const bytes = probe.bytes[0];
    const F = { name: 'ws', ...TARGETS.ws, label: 'floor', port: opts.port + 3, key: null };
    F.srv = await ctx.launch(F, { logName: 'floor' });
    const floorSpec = () => ({ kind: 'ws', url: `ws://${HOST}:${F.port}/floor?bytes=${bytes}`, sid: 'floor' });
    R.connect_kinds.floor_bytes = bytes;
    try {
      await warmUp(ctx, floorSpec);
      // Followed: one held socket per session, on the second generator when there is one, so
      // the measured connects (first generator) do not share its event loop.
      const holder = gens.list[gens.length > 1 ? 1 : 0];
      await holder.call('connect', { specs: followed.map(spec), reconnect: false, inflight: 4 });
      await sleep(200);
      await paired(ctx, T, F, 'followed', (i) => spec(followed[i % followed.length]), floorSpec, 0);
      await holder.call('closeAll', {});

      // Lingering: the same session again and again, each connect `gap` ms after the last one closed.
      await gens.first.call('connectRound', { specs: [spec(lingering[0])] });
      await sleep(gap);
      await paired(ctx, T, F, 'lingering', () => spec(lingering[0]), floorSpec, gap);

      // Cold: each sample on a session no socket has followed yet.
      await paired(ctx, T, F, 'cold', (i) => spec(cold[i % cold.length]), floorSpec, 0);

      if (perSession) {
        const S = { ...T, port: opts.port + 4 };
        S.srv = await ctx.launch(S, { logName: 'service-session-scope', extraEnv: { BUS_SUBSCRIPTION_SCOPE: 'session' } });
        try {
          // Its own warm-up (the key cached, code paths compiled) on a session that then stays followed,
          // as the default process's owner subscription stays up through the cold phase above.
          await warmUp(ctx, () => ctx.wsSpec(S, followed[0].id));
          await gens.first.call('connect', { specs: [ctx.wsSpec(S, followed[0].id)], reconnect: false, inflight: 1 });
          await paired(ctx, S, F, 'cold, BUS_SUBSCRIPTION_SCOPE=session', (i) => ctx.wsSpec(S, perSession[i % perSession.length].id), floorSpec, 0);
          await gens.first.call('closeAll', {});
        } finally {
          await ctx.stop(S.srv, 10000);
        }
      }
    } finally {
      await ctx.stop(F.srv, 10000);
    }
    for (const [kind, row] of Object.entries(R.connect_kinds.rows)) {
      const fl = R.connect_kinds.floors[kind];
      ctx.log(
        `  connect ${kind}: median ${fmt(row.median, ' ms')} = ${fmt(row.ratio_to_floor, '×')} the bare server (${fmt(fl?.median, ' ms')}, connected to alternately), ` +
          `SQL/connect ${fmt(row.sql_statements_per_connect)}, snapshot queries/connect ${fmt(row.snapshot_queries_per_connect)}`,
      );
    }
  },
};

/** `samples` connects to the service process `T` and as many to the bare server, alternately, `pauseMs` apart. */
async function paired(ctx, T, F, kind, specFor, floorSpec, pauseMs) {
  const { R, opts, gens } = ctx;
  const m0 = await ctx.metrics(T);
  const c0 = await gens.cpuMark();
  const s0 = procStat(T.srv.pid);
  const f0 = procStat(F.srv.pid);
  const w0 = now();
  const service = { times: [], bytes: [], failed: 0 };
  const floor = { times: [], bytes: [], failed: 0 };
  for (let i = 0; i < opts['connect-samples']; i++) {
    for (const [into, connectSpec] of [
      [service, specFor(i)],
      [floor, floorSpec()],
    ]) {
      const r = await gens.first.call('connectRound', { specs: [connectSpec] });
      into.times.push(...r.times);
      into.bytes.push(...r.bytes);
      into.failed += r.failed;
      if (pauseMs) await sleep(pauseMs);
    }
  }
  const wall = now() - w0;
  const c1 = await gens.cpuMark();
  const s1 = procStat(T.srv.pid);
  const f1 = procStat(F.srv.pid);
  const m1 = await ctx.metrics(T);
  const connects = opts['connect-samples'];
  const sql = mdelta(m0, m1, 'sql_statements');
  const snapq = mdelta(m0, m1, 'snapshot_queries');
  const row = {
    connects,
    failed: service.failed,
    frame_bytes: summarize(service.bytes).median,
    ...summarize(service.times),
    sql_statements_per_connect: sql === null ? null : round(sql / connects, 2),
    snapshot_queries_per_connect: snapq === null ? null : round(snapq / connects, 2),
    server_cpu_percent: round(((s1.cpuMs - s0.cpuMs) / wall) * 100, 0),
    generator_cpu: genCpuSince(c0, c1),
    pause_ms: pauseMs,
  };
  const fl = {
    connects,
    failed: floor.failed,
    frame_bytes: summarize(floor.bytes).median,
    ...summarize(floor.times),
    server_cpu_percent: round(((f1.cpuMs - f0.cpuMs) / wall) * 100, 0),
    pause_ms: pauseMs,
  };
  row.floor_median = fl.median;
  row.ratio_to_floor = row.median && fl.median ? round(row.median / fl.median, 2) : null;
  row.p99_ratio_to_floor = row.p99 && fl.p99 ? round(row.p99 / fl.p99, 2) : null;
  R.connect_kinds.rows[kind] = row;
  R.connect_kinds.floors[kind] = fl;
  ctx.log(
    `  connect-to-state ${kind}: service median ${fmt(row.median, ' ms')} p99 ${fmt(row.p99, ' ms')}, bare median ${fmt(fl.median, ' ms')} p99 ${fmt(fl.p99, ' ms')} ` +
      `(n=${row.n}+${fl.n}, failed ${row.failed}+${fl.failed}, frames ${row.frame_bytes}/${fl.frame_bytes} B, SQL/connect ${fmt(row.sql_statements_per_connect)})`,
  );
}
