// Appends per second at saturation, beside the floor measured in the same run: Postgres
// alone running the service's own append statement (pgbench, pinned to the server's core
// like the server). The service side: `--append-inflight` appends kept in flight by the
// load generators over `--append-sessions` sessions, one per interaction at a time with the
// `offset` the writer knows (when the service takes it), no subscribers (the write path
// alone, publish included), with and without `Prefer: return=minimal`; then appends into
// `--append-long-sessions` responses of `--append-long-bytes` (an append to a long response
// should not cost much more than one to a short one), each beside its own floor. Figures:
// appends/s, answer latency p50/p99, server CPU per append (server pinned to one core),
// generator CPU.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expectOk } from '../lib/http.mjs';
import { procStat, wrapCommand } from '../lib/proc.mjs';
import { summarize, round, fmt } from '../lib/stats.mjs';
import { OUT, ROOT, sleep, now } from '../lib/context.mjs';

// The statement pgbench runs. The repository exports it as APPEND_STATEMENT ($1 session,
// $2 owner, $3 interaction, $4 text, $5 offset or null, $6 cap in bytes, $7 state, $8 error);
// a build without that export appends with updateInteraction's statement, copied here from
// src/sessions/session.repository.ts (BUMP_VERSION and the UPDATE it feeds), $1–$4 alike.
const BUMP_VERSION = 'UPDATE sessions SET version = version + 1, updated = clock_timestamp() WHERE id = $1 AND owner_id = $2';
const COPIED_STATEMENT = `WITH bump AS (${BUMP_VERSION} AND EXISTS (SELECT 1 FROM interactions WHERE id = $3 AND session_id = $1) RETURNING version)
       UPDATE interactions SET updated = clock_timestamp(), version = bump.version, response_message = interactions.response_message || $4
       FROM bump
       WHERE interactions.id = $3 AND interactions.session_id = $1
       RETURNING interactions.id, interactions.session_id, interactions.prompt_message, interactions.response_message, interactions.state, interactions.error, interactions.version, interactions.created, interactions.updated`;

async function appendStatement() {
  try {
    const mod = await import(pathToFileURL(path.join(ROOT, 'dist', 'src', 'sessions', 'session.repository.js')).href);
    if (typeof mod.APPEND_STATEMENT === 'string') return { sql: mod.APPEND_STATEMENT, source: 'APPEND_STATEMENT exported by src/sessions/session.repository.ts' };
  } catch {}
  const repo = fs.readFileSync(path.join(ROOT, 'src', 'sessions', 'session.repository.ts'), 'utf8');
  const current = repo.includes(BUMP_VERSION) && repo.includes('response_message = interactions.response_message ||');
  return { sql: COPIED_STATEMENT, source: `updateInteraction's append, copied${current ? '' : ' (no longer matches the repository: refresh the copy)'}` };
}

/** The statement with one session's values as literals ($5 offset: none; $6 cap: no cap in reach). */
function literal(sql, { sid, owner, iid, text }) {
  const values = { 1: `'${sid}'`, 2: `'${owner}'`, 3: `'${iid}'`, 4: `'${text}'`, 5: 'NULL', 6: '1073741823', 7: 'NULL', 8: 'NULL' };
  return sql.replace(/\$(\d+)/g, (m, n) => values[n] ?? m);
}

// pgbench takes at most 128 scripts; one per session, with its ids as literals.
const PGBENCH_SCRIPTS = 100;

export default {
  name: 'append-throughput',
  title: 'appends/s at saturation over many sessions beside pgbench running the same statement',
  targets: ['service'],
  async run(ctx) {
    const { T, R, opts, gens } = ctx;
    const longBytes = opts['append-long-bytes'];
    const short = await ctx.createSessions(T, opts['append-sessions'], 1, 'append', { open: true, response: '' });
    const long = await ctx.createSessions(T, opts['append-long-sessions'], 1, 'append-long', { open: true, response: 'l'.repeat(longBytes) });
    for (const s of short) s.length = 0;
    for (const s of long) s.length = longBytes;
    // Feature probes: `offset` (a 400 naming it: not taken yet) and `Prefer: return=minimal`.
    const probe = await ctx.api(T, 'PATCH', `/sessions/${short[0].id}/interactions/${short[0].iid}`, { append: ctx.APPEND, offset: 0 }, { headers: { prefer: 'return=minimal' } });
    const offset = probe.status === 200;
    if (!offset) await expectOk(ctx.api(T, 'PATCH', `/sessions/${short[0].id}/interactions/${short[0].iid}`, { append: ctx.APPEND }), 'append');
    short[0].length = Buffer.byteLength(ctx.APPEND);
    const minimal = /return=minimal/.test(String(probe.headers['preference-applied'] ?? ''));
    const out = (R.append_throughput = {
      sessions: short.length,
      long_sessions: long.length,
      long_response_bytes: longBytes,
      append_bytes: opts['append-bytes'],
      inflight: opts['append-inflight'],
      seconds: opts['append-seconds'],
      subscribers: 0,
      return_minimal_supported: minimal,
      offset_supported: offset,
      runs: {},
    });
    if (!minimal) ctx.note('append-throughput: the service does not apply `Prefer: return=minimal` yet (no Preference-Applied): every answer carries the whole interaction');
    if (!offset) ctx.note(`append-throughput: the service does not take \`offset\` yet (HTTP ${probe.status}): appends are sent without it`);

    const load = async (label, sessions, prefer, seconds) => {
      const targets = sessions.map((s) => ({ sid: s.id, iid: s.iid, length: s.length }));
      // At most one append in flight per interaction (a streaming agent's way; writers of one
      // session would otherwise queue on its row lock and measure contention).
      const total = Math.min(opts['append-inflight'], sessions.length);
      const inflight = Math.max(1, Math.ceil(total / gens.length));
      const s0 = procStat(T.srv.pid);
      const t0 = now();
      const rs = await gens.each('appendLoad', 'targets', targets, { base: T.srv.base, token: T.key, text: ctx.APPEND, inflight, seconds, prefer, offset }, (seconds + 60) * 1000);
      const wall = (now() - t0) / 1000;
      const s1 = procStat(T.srv.pid);
      const lengths = new Map(rs.flatMap((r) => r.lengths));
      for (const s of sessions) s.length = lengths.get(s.iid) ?? s.length;
      const lat = rs.flatMap((r) => r.latencies);
      const statuses = {};
      for (const r of rs) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
      const secs = Math.max(...rs.map((r) => r.seconds));
      const cpuMs = s1.cpuMs - s0.cpuMs;
      const row = {
        prefer: prefer ?? null,
        offset,
        sessions: sessions.length,
        inflight: Math.min(inflight * gens.length, sessions.length),
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
          `  appends ${label} (${sessions.length} sessions, ${row.inflight} in flight${prefer ? `, Prefer: ${prefer}` : ''}${offset ? ', offset' : ''}): ${fmt(row.appends_per_second)}/s, ` +
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

    // The floors: the same statement on the same sessions, by Postgres alone.
    const statement = await appendStatement();
    out.floor_statement = statement.source;
    if (ctx.backend !== 'postgres') {
      out.floor = { skipped: 'no DATABASE_URL: pgbench needs Postgres' };
      ctx.note('append-throughput: the pgbench floor needs DATABASE_URL (Postgres); n/a on the embedded database');
    } else {
      const owner = (await expectOk(ctx.api(T, 'GET', `/sessions/${short[0].id}`), 'get session')).owner;
      out.floor = await pgbench(ctx, statement.sql, short.slice(0, PGBENCH_SCRIPTS), owner, 'short');
      out.floor_long = await pgbench(ctx, statement.sql, long.slice(0, PGBENCH_SCRIPTS), owner, 'long');
      for (const [label, f] of [['short', out.floor], ['long', out.floor_long]]) {
        ctx.log(
          `  floor ${label}: pgbench, ${f.clients} clients over ${f.scripts} sessions, pinned to core ${f.pinned_to ?? 'none'}: ${fmt(f.tps)} appends/s, ` +
            `latency p50 ${fmt(f.latency?.median, ' ms')} p99 ${fmt(f.latency?.p99, ' ms')}${f.error ? ` (${f.error})` : ''}`,
        );
      }
    }
    const ratio = (run, floor) => (run?.appends_per_second && floor?.tps ? round(run.appends_per_second / floor.tps, 2) : null);
    out.ratio_to_floor = ratio(out.runs.short, out.floor);
    out.long_ratio_to_floor = ratio(out.runs.long, out.floor_long);
    const sc = out.runs.short?.server_cpu_ms_per_append;
    out.long_cost_ratio = out.runs.long?.server_cpu_ms_per_append && sc ? round(out.runs.long.server_cpu_ms_per_append / sc, 2) : null;
  },
};

async function pgbench(ctx, statement, sessions, owner, label) {
  const dir = fs.mkdtempSync(path.join(OUT, 'pgbench-'));
  // pgbench takes a statement per line (or ending in a semicolon): one line each.
  const files = sessions.map((s, i) => {
    const f = path.join(dir, `append-${i}.sql`);
    fs.writeFileSync(f, `${literal(statement, { sid: s.id, owner, iid: s.iid, text: ctx.APPEND }).replace(/\s*\n\s*/g, ' ')};\n`);
    return f;
  });
  const clients = Math.min(ctx.opts['pgbench-clients'], sessions.length);
  // pgbench's clients connect inside its -T window: a very short one measures their start-up.
  const seconds = Math.max(5, ctx.opts['append-seconds']);
  const args = ['pgbench', '-n', '-M', 'prepared', '-c', String(clients), '-j', '1', '-T', String(seconds), '--log', `--log-prefix=${path.join(dir, 'tx')}`, ...files.flatMap((f) => ['-f', `${f}@1`]), process.env.DATABASE_URL];
  const [cmd, cargs] = wrapCommand(args, ctx.env.SERVER_CORES);
  const child = spawn(cmd, cargs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  child.stderr.on('data', (d) => (text += d));
  const code = await new Promise((r) => child.on('exit', r));
  fs.writeFileSync(path.join(OUT, `pgbench-${label}.log`), text);
  const tps = Number(/tps = ([\d.]+)/.exec(text)?.[1] ?? NaN);
  const lat = [];
  for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('tx'))) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      // client_id transaction_no latency_us script_no epoch epoch_us
      const us = Number(line.split(' ')[2]);
      if (line && Number.isFinite(us)) lat.push(us / 1000);
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
    error: code !== 0 ? `pgbench exited ${code}; see bench/out/pgbench-${label}.log` : !(tps > 0) ? `pgbench committed nothing in ${seconds} s; see bench/out/pgbench-${label}.log` : undefined,
  };
}
