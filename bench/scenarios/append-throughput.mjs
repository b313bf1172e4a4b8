// Appends per second at saturation, beside the floor measured in the same run: Postgres
// alone running the service's own append statement (pgbench, pinned to the server's core
// like the server). The service side: `--append-inflight` appends kept in flight by the
// load generators over `--append-sessions` sessions (no subscribers: the write path alone,
// publish included), with and without `Prefer: return=minimal`, and appends into
// `--append-long-sessions` responses of `--append-long-bytes` (an append to a long response
// should not cost much more than one to a short one). Figures: appends/s, answer latency
// p50/p99, server CPU per append (server pinned to one core), generator CPU.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expectOk } from '../lib/http.mjs';
import { procStat, wrapCommand } from '../lib/proc.mjs';
import { summarize, round, fmt } from '../lib/stats.mjs';
import { OUT, ROOT, now, sleep } from '../lib/context.mjs';

// The service's append, as SessionRepository.updateInteraction sends it for a PATCH that
// holds only `append` (src/sessions/session.repository.ts: BUMP_VERSION and the UPDATE it
// feeds). Copied, not imported: if the repository's text moves on, `statement_matches_repository`
// says so in the results and this copy wants refreshing.
const BUMP_VERSION = 'UPDATE sessions SET version = version + 1, updated = clock_timestamp() WHERE id = $1 AND owner_id = $2';
const APPEND_SET = 'response_message = interactions.response_message ||';
const APPEND_STATEMENT = `WITH bump AS (${BUMP_VERSION} AND EXISTS (SELECT 1 FROM interactions WHERE id = $3 AND session_id = $1) RETURNING version)
       UPDATE interactions SET updated = clock_timestamp(), version = bump.version, ${APPEND_SET} $4
       FROM bump
       WHERE interactions.id = $3 AND interactions.session_id = $1
       RETURNING interactions.id, interactions.session_id, interactions.prompt_message, interactions.response_message, interactions.state, interactions.error, interactions.version, interactions.created, interactions.updated`;

// pgbench takes at most 128 scripts; one per session, with its ids as literals.
const PGBENCH_SCRIPTS = 100;

export default {
  name: 'append-throughput',
  title: 'appends/s at saturation over many sessions beside pgbench running the same statement',
  targets: ['service'],
  async run(ctx) {
    const { T, R, opts, gens } = ctx;
    const short = await ctx.createSessions(T, opts['append-sessions'], 1, 'append', { open: true, response: '' });
    const long = await ctx.createSessions(T, opts['append-long-sessions'], 1, 'append-long', { open: true, response: 'l'.repeat(opts['append-long-bytes']) });
    const probe = await ctx.api(T, 'PATCH', `/sessions/${short[0].id}/interactions/${short[0].iid}`, { append: ctx.APPEND }, { headers: { prefer: 'return=minimal' } });
    const minimal = /return=minimal/.test(String(probe.headers['preference-applied'] ?? ''));
    const out = (R.append_throughput = {
      sessions: short.length,
      long_sessions: long.length,
      long_response_bytes: opts['append-long-bytes'],
      append_bytes: opts['append-bytes'],
      inflight: opts['append-inflight'],
      seconds: opts['append-seconds'],
      subscribers: 0,
      return_minimal_supported: minimal,
      runs: {},
    });
    if (!minimal) ctx.note('append-throughput: the service does not apply `Prefer: return=minimal` yet (no Preference-Applied): every answer carries the whole interaction');

    const load = async (label, sessions, prefer, seconds) => {
      const targets = sessions.map((s) => ({ sid: s.id, iid: s.iid }));
      // No more in flight than sessions: writers of one session queue on its row lock, which
      // would measure contention rather than the write path.
      const total = Math.min(opts['append-inflight'], sessions.length);
      const inflight = Math.max(1, Math.ceil(total / gens.length));
      const s0 = procStat(T.srv.pid);
      const t0 = now();
      const rs = await gens.each('appendLoad', 'targets', targets, { base: T.srv.base, token: T.key, text: ctx.APPEND, inflight, seconds, prefer }, (seconds + 60) * 1000);
      const wall = (now() - t0) / 1000;
      const s1 = procStat(T.srv.pid);
      const lat = rs.flatMap((r) => r.latencies);
      const statuses = {};
      for (const r of rs) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
      const secs = Math.max(...rs.map((r) => r.seconds));
      const cpuMs = s1.cpuMs - s0.cpuMs;
      const row = {
        prefer: prefer ?? null,
        sessions: sessions.length,
        inflight: inflight * gens.length,
        appends: lat.length,
        statuses,
        appends_per_second: round(lat.length / secs, 0),
        latency: summarize(lat),
        server_cpu_percent: round((cpuMs / 1000 / wall) * 100, 0),
        server_cpu_ms_per_append: lat.length ? round(cpuMs / lat.length, 3) : null,
        generator_cpu_percent: round((rs.reduce((a, r) => a + r.cpuMs, 0) / 1000 / secs) * 100, 0),
        response_bytes_per_append: lat.length ? round(rs.reduce((a, r) => a + r.responseBytes, 0) / lat.length, 0) : null,
      };
      if (label) {
        out.runs[label] = row;
        ctx.log(
          `  appends ${label} (${sessions.length} sessions, ${row.inflight} in flight${prefer ? `, Prefer: ${prefer}` : ''}): ${fmt(row.appends_per_second)}/s, ` +
            `latency p50 ${fmt(row.latency.median, ' ms')} p99 ${fmt(row.latency.p99, ' ms')}, server CPU ${row.server_cpu_percent}% = ${fmt(row.server_cpu_ms_per_append, ' ms')}/append, ` +
            `generator CPU ${row.generator_cpu_percent}%, answer ${fmt(row.response_bytes_per_append, ' B')}, statuses ${JSON.stringify(statuses)}`,
        );
      }
      return row;
    };
    // Warm-up (JIT, pools), not reported.
    await load(null, short, 'return=minimal', 1);
    await sleep(300);
    await load('short', short, 'return=minimal', opts['append-seconds']);
    await sleep(300);
    if (minimal) {
      await load('short_full_answer', short, null, opts['append-seconds']);
      await sleep(300);
    }
    await load('long', long, 'return=minimal', opts['append-seconds']);

    // The floor.
    const repo = fs.readFileSync(path.join(ROOT, 'src', 'sessions', 'session.repository.ts'), 'utf8');
    out.floor = { statement: APPEND_STATEMENT, statement_matches_repository: repo.includes(BUMP_VERSION) && repo.includes(APPEND_SET) };
    if (!out.floor.statement_matches_repository) ctx.note('append-throughput: the append statement in src/sessions/session.repository.ts no longer matches the copy pgbench runs; refresh it');
    if (ctx.backend !== 'postgres') {
      out.floor.skipped = 'no DATABASE_URL: pgbench needs Postgres';
      ctx.note('append-throughput: the pgbench floor needs DATABASE_URL (Postgres); n/a on the embedded database');
    } else {
      const owner = (await expectOk(ctx.api(T, 'GET', `/sessions/${short[0].id}`), 'get session')).owner;
      Object.assign(out.floor, await pgbench(ctx, short.slice(0, PGBENCH_SCRIPTS), owner));
      const f = out.floor;
      ctx.log(
        `  floor: pgbench, ${f.clients} clients, ${f.scripts} sessions, pinned to core ${f.pinned_to ?? 'none'}: ${fmt(f.tps)} appends/s, latency p50 ${fmt(f.latency?.median, ' ms')} p99 ${fmt(f.latency?.p99, ' ms')}${f.error ? ` (${f.error})` : ''}`,
      );
    }
    const best = out.runs.short;
    out.ratio_to_floor = best?.appends_per_second && out.floor.tps ? round(best.appends_per_second / out.floor.tps, 2) : null;
    out.long_cost_ratio = out.runs.long?.server_cpu_ms_per_append && best?.server_cpu_ms_per_append ? round(out.runs.long.server_cpu_ms_per_append / best.server_cpu_ms_per_append, 2) : null;
  },
};

async function pgbench(ctx, sessions, owner) {
  const dir = fs.mkdtempSync(path.join(OUT, 'pgbench-'));
  const files = sessions.map((s, i) => {
    const sql = APPEND_STATEMENT.replaceAll('$1', `'${s.id}'`).replaceAll('$2', `'${owner}'`).replaceAll('$3', `'${s.iid}'`).replaceAll('$4', `'${ctx.APPEND}'`);
    const f = path.join(dir, `append-${i}.sql`);
    // pgbench reads one statement per line unless it ends in a semicolon across lines: keep it on one.
    fs.writeFileSync(f, `${sql.replace(/\s*\n\s*/g, ' ')};\n`);
    return f;
  });
  const clients = ctx.opts['pgbench-clients'];
  const seconds = ctx.opts['append-seconds'];
  const args = ['pgbench', '-n', '-M', 'prepared', '-c', String(clients), '-j', '1', '-T', String(seconds), '--log', `--log-prefix=${path.join(dir, 'tx')}`, ...files.flatMap((f) => ['-f', `${f}@1`]), process.env.DATABASE_URL];
  const [cmd, cargs] = wrapCommand(args, ctx.env.SERVER_CORES);
  const child = spawn(cmd, cargs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  child.stderr.on('data', (d) => (text += d));
  const code = await new Promise((r) => child.on('exit', r));
  fs.writeFileSync(path.join(OUT, 'pgbench.log'), text);
  const tps = Number(/tps = ([\d.]+)/.exec(text)?.[1] ?? NaN);
  const lat = [];
  for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('tx'))) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      const us = Number(line.split(' ')[2]);
      if (Number.isFinite(us) && line) lat.push(us / 1000);
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    clients,
    scripts: files.length,
    seconds,
    pinned_to: ctx.env.SERVER_CORES,
    tps: Number.isFinite(tps) ? round(tps, 0) : null,
    latency: summarize(lat),
    error: code === 0 ? undefined : `pgbench exited ${code}; see bench/out/pgbench.log`,
  };
}
