#!/usr/bin/env node
/**
 * Scenario "append throughput": how many `append` PATCHes per second the service commits at
 * saturation on Postgres + NATS, beside the floor of Postgres itself running the service's own
 * append statement (pgbench, same database, same run).
 *
 * Self-contained (Node built-ins only, plus the project's build for the statement text), so a
 * runner can fold it in: `import { run } from './scenarios/append-throughput.mjs'` and call
 * `run(options)`, which resolves to the result object; or run it alone:
 *
 *   npm run build:server
 *   node bench/scenarios/append-throughput.mjs [--seconds=8] [--inflight=64] [--sessions=1000]
 *        [--long-kb=100] [--port=18300] [--prefer=minimal|full] [--offset=on|off]
 *        [--pgbench-clients=16] [--rate=0] [--cpu-prof=DIR] [--server=dist/src/main.js] [--json]
 *
 * Needs PostgreSQL (BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres; a
 * throwaway database is created and dropped), NATS (BENCH_NATS_URL, default
 * nats://127.0.0.1:4222), and `pgbench` on PATH. With `taskset` and 2+ cores the server is
 * pinned to core 0 and this load generator re-runs itself pinned to core 1, so "server CPU
 * per append" is the server's alone. It reports, it never fails on a number.
 *
 * What it does: starts the built service, creates `sessions` sessions with one interaction
 * each, then keeps `inflight` appends of 16 bytes in flight (one per interaction at a time,
 * like a streaming agent, each with the `offset` it knows) for `seconds`, after a warm-up. Then
 * the same with every response first grown to `long-kb` KB ("long"). Figures: appends/s, p50
 * and p99 latency, server CPU ms per append (from /proc), and the pgbench floor for both
 * lengths on separate rows of the same database.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHUNK = '0123456789abcdef';

export const DEFAULTS = {
  seconds: 8,
  warmup: 2,
  inflight: 64,
  sessions: 1000,
  longKb: 100,
  port: 18300,
  prefer: 'minimal',
  offset: 'on',
  pgbenchClients: 16,
  /** Appends per second to offer instead of saturating (0): compares CPU per append of two builds at the same load. */
  rate: 0,
  cpuProf: '',
  server: 'dist/src/main.js',
  json: false,
};

function parseArgs(argv) {
  const options = { ...DEFAULTS };
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`unknown argument ${arg}`);
    const key = match[1].replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in DEFAULTS)) throw new Error(`unknown option --${match[1]}`);
    options[key] = typeof DEFAULTS[key] === 'number' ? Number(match[2]) : typeof DEFAULTS[key] === 'boolean' ? match[2] !== 'false' : (match[2] ?? '');
  }
  return options;
}

const pinning = () => process.env.APPEND_BENCH_PINNED === '1' || (spawnSync('taskset', ['-V']).status === 0 && availableParallelism() >= 2);

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

/** CPU seconds a process has used so far: user + system, and system alone. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { total: (Number(fields[11]) + Number(fields[12])) / 100, system: Number(fields[12]) / 100 };
}

async function psql(url, sql) {
  const result = spawnSync('psql', [url, '-qAtX', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`psql: ${result.stderr}`);
  return result.stdout.trim();
}

function startServer(options, env) {
  const args = [...(options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${resolve(options.cpuProf)}`] : []), resolve(ROOT, options.server)];
  const command = pinning() ? ['taskset', ['-c', '0', process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(command[0], command[1], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ready = new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start: ${out}`)), 30_000);
    const onData = (data) => {
      out += data;
      const key = /^api_key: (\S+)$/m.exec(out)?.[1];
      // The service prints `api_key: KEY` on first start, then a `ready` line (older builds: `listening`).
      if (key && /"msg":"(ready|listening)"/.test(out)) {
        clearTimeout(timer);
        resolveReady(key);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`service exited ${code}: ${out}`)));
  });
  return { child, ready };
}

function stopServer(child) {
  return new Promise((done) => {
    if (child.exitCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGTERM');
  });
}

function client(port, key, inflight) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: inflight });
  return (method, path, body, headers = {}) =>
    new Promise((done, fail) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const request = http.request(
        {
          host: '127.0.0.1',
          port,
          method,
          path: `/api/v1${path}`,
          agent,
          headers: { authorization: `Bearer ${key}`, ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}), ...headers },
        },
        (response) => {
          const chunks = [];
          response.on('data', (chunk) => chunks.push(chunk));
          response.on('end', () => done({ status: response.statusCode, text: Buffer.concat(chunks).toString() }));
        },
      );
      request.on('error', fail);
      request.end(payload);
    });
}

async function inParallel(items, width, work) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/** Keeps `inflight` appends going, one per interaction at a time, each with the offset it knows. */
async function drive(request, targets, options, pid, seconds) {
  const headers = options.prefer === 'minimal' ? { prefer: 'return=minimal' } : {};
  const chunkBytes = Buffer.byteLength(CHUNK);
  let measuring = false;
  let stop = false;
  const latencies = [];
  let done = 0;
  let failed = 0;
  let cursor = 0;
  let nextAt = performance.now();
  const pace = async () => {
    if (!options.rate) return;
    const now = performance.now();
    const wait = nextAt - now;
    nextAt = Math.max(now, nextAt) + 1000 / options.rate;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  };
  const loop = async () => {
    while (!stop) {
      await pace();
      const target = targets[cursor++ % targets.length];
      if (target.busy) continue;
      target.busy = true;
      const started = performance.now();
      const reply = await request('PATCH', `/sessions/${target.sid}/interactions/${target.iid}`, options.offset === 'on' ? { append: CHUNK, offset: target.length } : { append: CHUNK }, headers);
      target.busy = false;
      if (reply.status === 200) target.length += chunkBytes;
      else if (reply.status === 409) target.length = JSON.parse(reply.text).offset;
      if (!measuring) continue;
      if (reply.status === 200) {
        done++;
        latencies.push(performance.now() - started);
      } else failed++;
    }
  };
  const loops = Array.from({ length: options.inflight }, loop);
  await new Promise((r) => setTimeout(r, options.warmup * 1000));
  measuring = true;
  const cpu0 = cpuSeconds(pid);
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds(pid);
  const cpu = cpu1.total - cpu0.total;
  const systemCpu = cpu1.system - cpu0.system;
  const own = process.cpuUsage(own0);
  measuring = false;
  stop = true;
  await Promise.all(loops);
  latencies.sort((a, b) => a - b);
  return {
    appendsPerSecond: Math.round(done / elapsed),
    failed,
    p50Ms: +percentile(latencies, 50).toFixed(2),
    p99Ms: +percentile(latencies, 99).toFixed(2),
    serverCpuMsPerAppend: +((cpu * 1000) / done).toFixed(3),
    serverCoreBusy: +(cpu / elapsed).toFixed(2),
    serverSystemShare: +(systemCpu / cpu).toFixed(2),
    loadgenCoreBusy: +((own.user + own.system) / 1e6 / elapsed).toFixed(2),
  };
}

/** pgbench running the service's own APPEND_STATEMENT on rows of its own, with fixed ids. */
async function pgbenchFloor(url, owner, statement, options, responseBytes) {
  const prefix = responseBytes ? 'b' : 'a';
  const sid = `('00000000-0000-4000-8${prefix}00-'||lpad(:n::text,12,'0'))::uuid`;
  const iid = `('00000000-0000-4000-9${prefix}00-'||lpad(:n::text,12,'0'))::uuid`;
  await psql(
    url,
    `INSERT INTO sessions (id, owner_id, name) SELECT ('00000000-0000-4000-8${prefix}00-'||lpad(n::text,12,'0'))::uuid, '${owner}', 'pgbench' FROM generate_series(1, ${options.sessions}) n;
     INSERT INTO interactions (id, session_id, prompt_message, response_message, version)
       SELECT ('00000000-0000-4000-9${prefix}00-'||lpad(n::text,12,'0'))::uuid, ('00000000-0000-4000-8${prefix}00-'||lpad(n::text,12,'0'))::uuid, 'p',
              coalesce((SELECT string_agg(md5(g::text || n::text), '') FROM generate_series(1, ${Math.ceil(responseBytes / 32)}) g), ''), 1
       FROM generate_series(1, ${options.sessions}) n;
     UPDATE interactions SET response_message = left(response_message, ${responseBytes}) WHERE session_id::text LIKE '00000000-0000-4000-8${prefix}00-%';`,
  );
  const sql = statement
    .replaceAll('$1', sid)
    .replaceAll('$2', `'${owner}'::uuid`)
    .replaceAll('$3', iid)
    .replaceAll('$4', `'${CHUNK}'`)
    .replaceAll('$5', 'NULL')
    .replaceAll('$6', '1073741823')
    .replaceAll('$7', 'NULL')
    .replaceAll('$8', 'NULL');
  const dir = mkdtempSync(join(tmpdir(), 'append-bench-'));
  const script = join(dir, 'append.pgb');
  writeFileSync(script, `\\set n random(1, ${options.sessions})\n${sql.replace(/\s*\n\s*/g, ' ')};\n`);
  const result = spawnSync('pgbench', ['-n', '-M', 'prepared', '-c', String(options.pgbenchClients), '-j', '2', '-T', String(options.seconds), '-f', script, url], { encoding: 'utf8' });
  rmSync(dir, { recursive: true, force: true });
  const tps = /tps = ([\d.]+)/.exec(result.stdout)?.[1];
  if (!tps) throw new Error(`pgbench failed: ${result.stderr || result.stdout}`);
  return Math.round(Number(tps));
}

export async function run(overrides = {}) {
  const options = { ...DEFAULTS, ...overrides };
  const admin = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const nats = process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
  const name = `bench_append_${process.pid}`;
  await psql(admin, `CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const { APPEND_STATEMENT } = await import(pathToFileURL(join(ROOT, 'dist/src/sessions/session.repository.js')).href);
  const server = startServer(options, { PORT: String(options.port), HOST: '127.0.0.1', DATABASE_URL: url.toString(), NATS_URL: nats });
  try {
    const key = await server.ready;
    const request = client(options.port, key, options.inflight);
    const targets = [];
    await inParallel(
      Array.from({ length: options.sessions }, (_, i) => i),
      32,
      async (i) => {
        const session = JSON.parse((await request('POST', '/sessions', { name: `bench ${i}` })).text);
        const interaction = JSON.parse((await request('POST', `/sessions/${session.id}/interactions`, { prompt_message: 'go' }, { prefer: 'return=minimal' })).text);
        targets.push({ sid: session.id, iid: interaction.id, length: 0, busy: false });
      },
    );
    const owner = await psql(url.toString(), 'SELECT owner_id FROM sessions LIMIT 1');
    const short = await drive(request, targets, options, server.child.pid, options.seconds);
    const longBytes = options.longKb * 1024;
    let long;
    if (longBytes > 0) {
      const filler = 'lorem ipsum dolor sit amet, '.repeat(Math.ceil(longBytes / 28)).slice(0, longBytes);
      await inParallel(targets, 16, async (target) => {
        await request('PATCH', `/sessions/${target.sid}/interactions/${target.iid}`, { response_message: filler }, { prefer: 'return=minimal' });
        target.length = longBytes;
      });
      long = await drive(request, targets, options, server.child.pid, options.seconds);
    }
    await stopServer(server.child);
    // --pgbench-clients=0 skips the floor (e.g. while profiling).
    const floor = async (bytes) => (options.pgbenchClients > 0 ? await pgbenchFloor(url.toString(), owner, APPEND_STATEMENT, options, bytes) : NaN);
    const floorShort = await floor(0);
    const floorLong = long ? await floor(longBytes) : NaN;
    return {
      scenario: 'append-throughput',
      options: { seconds: options.seconds, inflight: options.inflight, sessions: options.sessions, prefer: options.prefer, offset: options.offset, rate: options.rate, pinned: pinning() },
      short: { ...short, pgbenchFloor: floorShort, ofFloor: +(short.appendsPerSecond / floorShort).toFixed(2) },
      ...(long ? { long: { responseKb: options.longKb, ...long, pgbenchFloor: floorLong, ofFloor: +(long.appendsPerSecond / floorLong).toFixed(2) } } : {}),
    };
  } finally {
    await stopServer(server.child);
    await psql(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  }
}

function print(result) {
  const row = (label, r) =>
    `| ${label} | ${r.appendsPerSecond} | ${r.p50Ms} / ${r.p99Ms} | ${r.serverCpuMsPerAppend} (core ${r.serverCoreBusy}, kernel ${r.serverSystemShare}) | ${r.pgbenchFloor} | ${r.ofFloor}× | ${r.failed} |`;
  console.log(`append throughput (${JSON.stringify(result.options)})`);
  console.log('| response | appends/s | p50 / p99 ms | server CPU ms/append | pgbench floor/s | of floor | failed |');
  console.log('|---|---|---|---|---|---|---|');
  console.log(row('short', result.short));
  if (result.long) console.log(row(`${result.long.responseKb} KB`, result.long));
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = parseArgs(process.argv.slice(2));
  if (pinning() && !process.env.APPEND_BENCH_PINNED) {
    // Re-run this generator on core 1; the server gets core 0.
    const child = spawnSync('taskset', ['-c', '1', process.execPath, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, APPEND_BENCH_PINNED: '1' } });
    process.exit(child.status ?? 1);
  }
  run(options).then(
    (result) => (options.json ? console.log(JSON.stringify(result, null, 2)) : print(result)),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
