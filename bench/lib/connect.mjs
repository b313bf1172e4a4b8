// Connect-to-state phases: from starting a WebSocket connect to holding the first
// `session_update`, sequential (concurrency 1) or in rounds of simultaneous connects.
import { procStat } from './proc.mjs';
import { mdelta, mdeltaAll, canonical } from './metrics.mjs';
import { genCpuSince } from './generators.mjs';
import { summarize, round, fmt } from './stats.mjs';
import { now, sleep } from './context.mjs';

/**
 * One row per concurrency in `--connect-concurrency` (or `concurrencies`). `pauseMs` spaces
 * sequential connects (the lingering kind: the last socket left that long ago).
 */
export async function connectPhase(ctx, T, specFor, label, size, concurrencies = ctx.opts['connect-concurrency'], pauseMs = 0) {
  const { gens, opts } = ctx;
  const out = [];
  for (const conc of concurrencies) {
    const m0 = await ctx.metrics(T);
    const c0 = await gens.cpuMark();
    const s0 = T.srv ? procStat(T.srv.pid) : null;
    const w0 = now();
    const times = [];
    const bytes = [];
    let failed = 0;
    let connects = 0;
    if (conc <= 1) {
      for (let i = 0; i < opts['connect-samples']; i++) {
        const r = await gens.first.call('connectRound', { specs: [specFor(i)] });
        times.push(...r.times);
        bytes.push(...r.bytes);
        failed += r.failed;
        connects++;
        if (pauseMs) await sleep(pauseMs);
      }
    } else {
      for (let round_ = 0; round_ < opts['connect-rounds']; round_++) {
        const specs = Array.from({ length: conc }, (_, i) => specFor(round_ * conc + i));
        const rs = await gens.each('connectRound', 'specs', specs);
        for (const r of rs) {
          times.push(...r.times);
          bytes.push(...r.bytes);
          failed += r.failed;
        }
        connects += conc;
      }
    }
    const c1 = await gens.cpuMark();
    const wall = now() - w0;
    const s1 = T.srv ? procStat(T.srv.pid) : null;
    const m1 = await ctx.metrics(T);
    const sql = mdelta(m0, m1, 'sql_statements');
    const snapq = mdelta(m0, m1, 'snapshot_queries');
    const row = {
      interactions: size,
      concurrency: conc,
      connects,
      failed,
      frame_bytes: summarize(bytes).median,
      ...summarize(times),
      sql_statements_per_connect: sql === null ? null : round(sql / connects, 2),
      metrics_delta: canonical(mdeltaAll(m0, m1)),
      snapshot_queries_per_connect: snapq === null ? null : round(snapq / connects, 2),
      server_cpu_percent: s0 && s1 ? round(((s1.cpuMs - s0.cpuMs) / wall) * 100, 0) : null,
      generator_cpu: genCpuSince(c0, c1),
    };
    out.push(row);
    ctx.log(
      `  connect-to-state ${label} ${size} interactions x${conc}: median ${fmt(row.median, ' ms')} p99 ${fmt(row.p99, ' ms')} ` +
        `(n=${row.n}, failed ${failed}, frame ${row.frame_bytes} B, SQL/connect ${fmt(row.sql_statements_per_connect)}, ` +
        `server CPU ${fmt(row.server_cpu_percent, '%')}, generator CPU ${row.generator_cpu.percent_of_one_core}%)`,
    );
  }
  return out;
}

/** A warm-up so the first measured connects do not pay for JIT and lazy setup. */
export async function warmUp(ctx, specFor, n = 10) {
  for (let i = 0; i < n; i++) await ctx.gens.first.call('connectRound', { specs: [specFor(i)] });
}
