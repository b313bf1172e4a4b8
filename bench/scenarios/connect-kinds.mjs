// Connect-to-state by kind of session, sequential connects, each beside a bare ws server
// (the ws peer's /floor, started on its own port for this scenario and pinned like the
// service) sending a frame of the same size:
// - followed: another socket on this process already follows the session;
// - lingering: nobody follows it, but the last socket left `--linger-gap-ms` ago;
// - cold: nobody has followed it on this process (a fresh session each connect).
// SQL statements and snapshot queries per connect of each kind come from /metrics.
import { connectPhase, warmUp } from '../lib/connect.mjs';
import { round, fmt } from '../lib/stats.mjs';
import { HOST, TARGETS, sleep } from '../lib/context.mjs';

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
    const spec = (s) => ctx.wsSpec(T, s.id);
    const one = [1];
    R.connect_kinds = { interactions: size, linger_gap_ms: gap, rows: {} };

    await warmUp(ctx, (i) => spec(followed[i % followed.length]));
    // Followed: one held socket per session, on the second generator when there is one, so
    // the measured connects (first generator) do not share its event loop.
    const holder = gens.list[gens.length > 1 ? 1 : 0];
    await holder.call('connect', { specs: followed.map(spec), reconnect: false, inflight: 4 });
    await sleep(200);
    [R.connect_kinds.rows.followed] = await connectPhase(ctx, T, (i) => spec(followed[i % followed.length]), 'followed', size, one);
    await holder.call('closeAll', {});

    // Lingering: the same session again and again, each connect `gap` ms after the last closed.
    await gens.first.call('connectRound', { specs: [spec(lingering[0])] });
    await sleep(gap);
    [R.connect_kinds.rows.lingering] = await connectPhase(
      ctx,
      T,
      () => spec(lingering[0]),
      'lingering',
      size,
      one,
      gap,
    );

    // Cold: each sample on a session no socket has followed yet.
    [R.connect_kinds.rows.cold] = await connectPhase(ctx, T, (i) => spec(cold[i % cold.length]), 'cold', size, one);

    // The bare server, sending a frame of the size the service sent.
    const bytes = R.connect_kinds.rows.cold?.frame_bytes ?? R.connect_kinds.rows.followed?.frame_bytes;
    const F = { name: 'ws', ...TARGETS.ws, label: 'floor', port: opts.port + 3, key: null };
    F.srv = await ctx.launch(F, { logName: 'floor' });
    try {
      const floorSpec = () => ({ kind: 'ws', url: `ws://${HOST}:${F.port}/floor?bytes=${bytes}`, sid: 'floor' });
      await warmUp(ctx, floorSpec);
      [R.connect_kinds.floor] = await connectPhase(ctx, F, floorSpec, 'floor', size, one);
      R.connect_kinds.floor.floor_bytes = bytes;
      // The same pause before each connect as the lingering kind: a process (and a machine)
      // idle for `gap` ms answers its next connect slower, whatever it serves from.
      [R.connect_kinds.floor_paused] = await connectPhase(ctx, F, floorSpec, `floor, ${gap} ms apart`, size, one, gap);
    } finally {
      await ctx.stop(F.srv, 10000);
    }
    for (const [kind, row] of Object.entries(R.connect_kinds.rows)) {
      // Each kind against the bare server connected to the same way: back to back, or (the
      // lingering kind) `gap` ms apart.
      const fl = kind === 'lingering' ? R.connect_kinds.floor_paused : R.connect_kinds.floor;
      row.floor_median = fl?.median ?? null;
      row.ratio_to_floor = row.median && fl?.median ? round(row.median / fl.median, 2) : null;
      row.p99_ratio_to_floor = row.p99 && fl?.p99 ? round(row.p99 / fl.p99, 2) : null;
      ctx.log(
        `  connect ${kind}: median ${fmt(row.median, ' ms')} = ${fmt(row.ratio_to_floor, '×')} the bare server (${fmt(fl?.median, ' ms')}), ` +
          `SQL/connect ${fmt(row.sql_statements_per_connect)}, snapshot queries/connect ${fmt(row.snapshot_queries_per_connect)}`,
      );
    }
  },
};
