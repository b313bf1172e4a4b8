// `npm run bench`: builds and starts the service, drives it and two peer servers
// (Socket.IO with connection state recovery, plain ws) from separate load-generator
// processes on loopback, and writes bench/out/results.{json,md,svg}. A benchmark reports:
// no figure ever fails the run; only a service that cannot be built or started does.
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions, HELP } from './lib/options.mjs';
import { request, expectOk, pool, closeAgent } from './lib/http.mjs';
import { startServer, stopServer, waitReady, procStat, hasTaskset, wrapCommand, FD_LIMIT } from './lib/proc.mjs';
import { summarize, round, fmt } from './lib/stats.mjs';
import { writeReports } from './lib/report.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
const OUT = path.join(BENCH, 'out');
const HOST = '127.0.0.1';
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let opts;
try {
  opts = parseOptions(process.argv.slice(2));
} catch (e) {
  console.error(String(e.message));
  console.error(HELP);
  process.exit(2);
}
if (opts.help) {
  console.log(HELP);
  process.exit(0);
}
fs.mkdirSync(OUT, { recursive: true });
// Each run's logs and embedded database start empty, so bench/out only ever holds one run.
for (const f of fs.readdirSync(OUT)) {
  if (f.endsWith('.log') || f.startsWith('data-')) fs.rmSync(path.join(OUT, f), { recursive: true, force: true });
}

const backend = process.env.DATABASE_URL ? 'postgres' : 'embedded';
const bus = process.env.NATS_URL ? 'nats' : 'in-process';
const cores = os.cpus().length;
const pinned = opts.pin === 'on' || (opts.pin === 'auto' && cores >= 2 && hasTaskset());
const SERVER_CORES = pinned ? '0' : null;
const GEN_CORES = pinned ? (cores > 2 ? `1-${cores - 1}` : '1') : null;
if (pinned) {
  // The orchestrator only issues writes and collects results: keep it off the server's core.
  try {
    execFileSync('taskset', ['-p', '-c', GEN_CORES, String(process.pid)], { stdio: 'ignore' });
  } catch {}
}

const maxClients = Math.max(...opts.fanout, opts['pool-sessions'] * opts['pool-subscribers'], 1);
const generatorCount = opts.generators || Math.max(2, Math.ceil(maxClients / opts['clients-per-generator']));

const results = {
  meta: {
    started: new Date().toISOString(),
    mode: opts.quick ? 'quick' : 'default',
    node: process.version,
    cores,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_gib: round(os.totalmem() / 2 ** 30, 1),
    database: backend === 'postgres' ? 'Postgres (DATABASE_URL)' : 'embedded default (PGlite under DATA_DIR)',
    bus: bus === 'nats' ? 'NATS (NATS_URL)' : 'in-process bus',
    pinned: pinned ? { server_cores: SERVER_CORES, generator_cores: GEN_CORES } : false,
    generators: generatorCount,
    fd_limit: FD_LIMIT,
    options: { ...opts },
  },
  floor: [],
  targets: {},
  notes: [],
};

function log(...a) {
  console.log(...a);
}

log(`bench: ${opts.quick ? 'quick' : 'default'} run, ${cores} cores, node ${process.version}`);
log(`bench: database ${results.meta.database}; bus ${results.meta.bus}`);
if (backend === 'embedded' || bus === 'in-process') {
  log('bench: DATABASE_URL/NATS_URL not both set: the service runs on its embedded defaults');
}
log(`bench: ${generatorCount} load generators${pinned ? `, server pinned to core ${SERVER_CORES}, generators to ${GEN_CORES}` : ', not pinned'}`);

// ---------------------------------------------------------------- hard stop
const hardStop = setTimeout(async () => {
  console.error(`bench: --max-minutes=${opts['max-minutes']} reached; writing what was measured and stopping`);
  results.notes.push(`run stopped by the --max-minutes=${opts['max-minutes']} bound; later scenarios are missing`);
  await finish(0);
}, opts['max-minutes'] * 60000);
hardStop.unref();

// ---------------------------------------------------------------- generators
class Generator {
  constructor(index) {
    this.index = index;
    this.pending = new Map();
    this.seq = 0;
    const [cmd, args] = wrapCommand([process.execPath, path.join(BENCH, 'lib', 'loadgen.mjs')], GEN_CORES);
    this.child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    this.ready = new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('load generator did not start')), 15000);
      this.child.on('message', (m) => {
        if (m.ready) {
          clearTimeout(t);
          return resolve();
        }
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.error) p.reject(new Error(`generator ${this.index}: ${m.error}`));
        else p.resolve(m.result);
      });
    });
    this.child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`generator ${this.index} exited (${code})`));
      this.pending.clear();
    });
  }
  call(cmd, payload = {}, timeoutMs = 180000) {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`generator ${this.index}: ${cmd} timed out`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.child.send({ id, cmd, ...payload });
    });
  }
  pid() {
    return this.child.pid;
  }
}

let gens = [];
const all = (cmd, payload, timeoutMs) => Promise.all(gens.map((g) => g.call(cmd, payload, timeoutMs)));

async function genCpuMark() {
  return all('cpu');
}
/** Generators' CPU over a phase, as % of one core (summed over generator processes). */
function genCpuSince(marks, ends) {
  let cpuUs = 0;
  let wallMs = 0;
  marks.forEach((m, i) => {
    cpuUs += ends[i].user - m.user + ends[i].system - m.system;
    wallMs = Math.max(wallMs, ends[i].at - m.at);
  });
  return {
    percent_of_one_core: round((cpuUs / 1000 / Math.max(1, wallMs)) * 100, 0),
    per_generator_max_percent: round(
      Math.max(...marks.map((m, i) => ((ends[i].user - m.user + ends[i].system - m.system) / 1000 / Math.max(1, ends[i].at - m.at)) * 100)),
      0,
    ),
  };
}

function split(specs) {
  const parts = gens.map(() => []);
  specs.forEach((s, i) => parts[i % gens.length].push(s));
  return parts;
}

// ---------------------------------------------------------------- targets
let servicePort = opts.port;
const TARGETS = {
  service: { label: 'service', kind: 'ws', port: opts.port },
  socketio: { label: 'socket.io', kind: 'sio', port: opts.port + 1 },
  ws: { label: 'ws', kind: 'ws', port: opts.port + 2 },
};

function serviceEnv(port) {
  const env = { PORT: String(port), HOST, NODE_ENV: 'production' };
  if (backend === 'embedded') env.DATA_DIR = serviceDataDir;
  return env;
}
const serviceDataDir = path.join(OUT, `data-${Date.now()}`);
const servers = new Set();

function build() {
  if (opts['skip-build']) return;
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const steps = ['build'];
  // The web bundle is part of the production build; build it only if `build` does not already.
  if (pkg.scripts?.['build:web'] && !String(pkg.scripts.build ?? '').includes('build:web')) steps.push('build:web');
  for (const s of steps) {
    log(`bench: npm run ${s}`);
    const r = spawnSync('npm', ['run', s], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300000 });
    fs.writeFileSync(path.join(OUT, `${s.replace(':', '-')}.log`), Buffer.concat([r.stdout ?? Buffer.alloc(0), r.stderr ?? Buffer.alloc(0)]));
    if (r.status !== 0) throw new Error(`npm run ${s} failed (exit ${r.status}); see bench/out/${s.replace(':', '-')}.log`);
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'main.js'))) throw new Error('the build did not produce dist/src/main.js');
}

async function launch(T, { port = T.port, logName = T.name } = {}) {
  const base = `http://${HOST}:${port}`;
  let argv;
  let env = {};
  let keyLine = null;
  if (T.name === 'service') {
    argv = [process.execPath, 'dist/src/main.js'];
    env = serviceEnv(port);
  } else {
    argv = [process.execPath, path.join(BENCH, 'peers', T.name === 'ws' ? 'ws-peer.mjs' : 'socketio-peer.mjs'), `--port=${port}`, `--host=${HOST}`];
  }
  const keyP = new Promise((resolve) => (keyLine = resolve));
  const srv = startServer({
    argv,
    env,
    cores: SERVER_CORES,
    cwd: ROOT,
    logFile: path.join(OUT, `${logName}.log`),
    onLine: (line) => {
      const m = /^api_key: (\S+)\s*$/.exec(line.trim());
      if (m) keyLine(m[1]);
    },
  });
  servers.add(srv);
  srv.exited.then(() => servers.delete(srv));
  const t0 = now();
  const ok = await waitReady(base, T.name === 'service' ? 120000 : 20000, srv);
  if (!ok) {
    await stopServer(srv, 5000);
    throw new Error(`${T.label} did not become ready on ${base} (see bench/out/${logName}.log)`);
  }
  srv.readyMs = now() - t0;
  srv.base = base;
  srv.key = await Promise.race([keyP, sleep(T.name === 'service' ? 1500 : 0).then(() => null)]);
  return srv;
}

async function createServiceUser(T) {
  if (T.srv.key) return T.srv.key;
  const env = { ...process.env, ...serviceEnv(T.port) };
  const run = () => spawnSync('npm', ['run', '--silent', 'cli', '--', 'users', 'create', `bench-${Date.now()}`], { cwd: ROOT, env, encoding: 'utf8', timeout: 60000 });
  let r = run();
  let key = parseCliKey(r.stdout);
  if (!key && backend === 'embedded') {
    // The embedded database may only be usable by one process: create the user with the
    // service stopped, then start it again.
    await stopServer(T.srv);
    r = run();
    key = parseCliKey(r.stdout);
    T.srv = await launch(T);
  }
  if (!key) throw new Error(`could not obtain an API key: no "api_key:" line and the CLI said: ${(r.stdout + r.stderr).slice(0, 500)}`);
  return key;
}
function parseCliKey(out) {
  for (const line of String(out ?? '').split('\n')) {
    try {
      const j = JSON.parse(line);
      if (j.api_key) return j.api_key;
    } catch {}
  }
  return null;
}

function wsSpec(T, sid) {
  if (T.kind === 'sio') return { kind: 'sio', url: `http://${HOST}:${T.port}`, sid };
  const q = new URLSearchParams({ session_id: sid });
  if (T.key) q.set('access_token', T.key);
  return { kind: 'ws', url: `ws://${HOST}:${T.port}/api/v1/ws/user?${q}`, sid };
}

const api = (T, method, p, body) => request(T.srv.base, method, `/api/v1${p}`, { body, token: T.key });

async function metrics(T, srv = T.srv) {
  try {
    const r = await request(srv.base, 'GET', '/metrics', { token: T.key, timeoutMs: 5000 });
    return r.status === 200 && r.json && typeof r.json === 'object' ? r.json : null;
  } catch {
    return null;
  }
}
/** Every numeric field's change between two /metrics readings (counters and gauges alike). */
function mdeltaAll(a, b) {
  if (!a || !b) return null;
  const out = {};
  for (const [k, val] of Object.entries(b)) if (typeof val === 'number' && typeof a[k] === 'number') out[k] = val - a[k];
  return out;
}
/** Polls /metrics until stopped, keeping each numeric field's peak. */
function sampleMetrics(T, everyMs = 250) {
  const peak = {};
  let on = true;
  const loop = (async () => {
    while (on) {
      const m = await metrics(T);
      if (m) for (const [k, val] of Object.entries(m)) if (typeof val === 'number') peak[k] = Math.max(peak[k] ?? -Infinity, val);
      await sleep(everyMs);
    }
  })();
  return async () => {
    on = false;
    await loop;
    return peak;
  };
}
function mdelta(a, b, key) {
  return a && b && typeof a[key] === 'number' && typeof b[key] === 'number' ? b[key] - a[key] : null;
}

const PROMPT = 'p'.repeat(Math.max(1, opts['prompt-bytes']));
const RESPONSE = 'r'.repeat(Math.max(1, opts['response-bytes']));
const APPEND = 'a'.repeat(Math.max(1, opts['append-bytes']));

/** Creates `count` sessions of `interactions` completed interactions each through REST. */
async function createSessions(T, count, interactions, name) {
  const items = Array.from({ length: count }, (_, i) => i);
  return pool(items, 16, async (i) => {
    const s = await expectOk(api(T, 'POST', '/sessions', { name: `${name} ${i}` }), 'create session');
    let iid = null;
    for (let k = 0; k < interactions; k++) {
      const it = await expectOk(api(T, 'POST', `/sessions/${s.id}/interactions`, { prompt_message: PROMPT }), 'create interaction');
      iid = it.id;
      await expectOk(api(T, 'PATCH', `/sessions/${s.id}/interactions/${iid}`, { response_message: RESPONSE, state: 'complete' }), 'complete interaction');
    }
    const full = await expectOk(api(T, 'GET', `/sessions/${s.id}`), 'get session');
    return { id: s.id, iid, version: full.version };
  });
}

async function sessionVersion(T, sid, srv = T.srv) {
  const r = await request(srv.base, 'GET', `/api/v1/sessions/${sid}`, { token: T.key });
  return r.status === 200 ? r.json.version : null;
}

// ---------------------------------------------------------------- scenario 1: connect-to-state
async function connectPhase(T, specFor, label, size) {
  const out = [];
  for (const conc of opts['connect-concurrency']) {
    const m0 = await metrics(T);
    const c0 = await genCpuMark();
    const s0 = T.srv ? procStat(T.srv.pid) : null;
    const w0 = now();
    const times = [];
    const bytes = [];
    let failed = 0;
    let connects = 0;
    if (conc <= 1) {
      for (let i = 0; i < opts['connect-samples']; i++) {
        const r = await gens[0].call('connectRound', { specs: [specFor(i)] });
        times.push(...r.times);
        bytes.push(...r.bytes);
        failed += r.failed;
        connects++;
      }
    } else {
      for (let round_ = 0; round_ < opts['connect-rounds']; round_++) {
        const specs = Array.from({ length: conc }, (_, i) => specFor(round_ * conc + i));
        const parts = split(specs);
        const rs = await Promise.all(gens.map((g, i) => g.call('connectRound', { specs: parts[i] })));
        for (const r of rs) {
          times.push(...r.times);
          bytes.push(...r.bytes);
          failed += r.failed;
        }
        connects += conc;
      }
    }
    const c1 = await genCpuMark();
    const wall = now() - w0;
    const s1 = T.srv ? procStat(T.srv.pid) : null;
    const m1 = await metrics(T);
    const sql = mdelta(m0, m1, 'sql_statements');
    const snapq = mdelta(m0, m1, 'snapshot_queries');
    const stats = summarize(times);
    const row = {
      interactions: size,
      concurrency: conc,
      connects,
      failed,
      frame_bytes: summarize(bytes).median,
      ...stats,
      sql_statements_per_connect: sql === null ? null : round(sql / connects, 2),
      metrics_delta: mdeltaAll(m0, m1),
      snapshot_queries_per_connect: snapq === null ? null : round(snapq / connects, 2),
      server_cpu_percent: s0 && s1 ? round(((s1.cpuMs - s0.cpuMs) / wall) * 100, 0) : null,
      generator_cpu: genCpuSince(c0, c1),
    };
    out.push(row);
    log(
      `  connect-to-state ${label} ${size} interactions x${conc}: median ${fmt(row.median, ' ms')} p99 ${fmt(row.p99, ' ms')} ` +
        `(n=${row.n}, failed ${failed}, frame ${row.frame_bytes} B, SQL/connect ${fmt(row.sql_statements_per_connect)}, ` +
        `server CPU ${fmt(row.server_cpu_percent, '%')}, generator CPU ${row.generator_cpu.percent_of_one_core}%)`,
    );
  }
  return out;
}

async function scenarioConnect(T, R) {
  R.connect = [];
  for (const size of opts['connect-sizes']) {
    const sessions = await createSessions(T, opts['connect-sessions'], size, `connect ${size}`);
    const specFor = (i) => wsSpec(T, sessions[i % sessions.length].id);
    // Warm-up connects so the first measured ones do not pay for JIT and lazy setup.
    for (let i = 0; i < 10; i++) await gens[0].call('connectRound', { specs: [specFor(i)] });
    R.connect.push(...(await connectPhase(T, specFor, T.label, size)));
  }
}

async function scenarioFloor(T) {
  // The floor: the same connect to a bare ws server that sends one frame of the size the
  // service (or, without it, the ws peer) sent for each session size.
  const sizes = new Map();
  const src = results.targets.service?.connect?.length ? results.targets.service.connect : results.targets.ws?.connect ?? [];
  for (const r of src) if (r.frame_bytes && !sizes.has(r.interactions)) sizes.set(r.interactions, r.frame_bytes);
  for (const [size, bytes] of sizes) {
    const specFor = () => ({ kind: 'ws', url: `ws://${HOST}:${T.port}/floor?bytes=${bytes}`, sid: 'floor' });
    for (let i = 0; i < 10; i++) await gens[0].call('connectRound', { specs: [specFor()] });
    const rows = await connectPhase({ ...T, srv: T.srv, key: null, label: 'floor' }, specFor, 'floor', size);
    for (const r of rows) results.floor.push({ ...r, sql_statements_per_connect: null, snapshot_queries_per_connect: null, floor_bytes: bytes });
  }
}

// ---------------------------------------------------------------- scenario 2: fan-out
async function timedWrite(T, s, srv = T.srv) {
  const t0 = now();
  const r = await request(srv.base, 'PATCH', `/api/v1/sessions/${s.id}/interactions/${s.iid}`, { body: { append: APPEND }, token: T.key });
  return { t0, ack: now() - t0, status: r.status };
}

async function connectPool(T, specs, reconnect) {
  const parts = split(specs);
  const t0 = now();
  const rs = await Promise.all(gens.map((g, i) => g.call('connect', { specs: parts[i], reconnect, inflight: 100 }, 300000)));
  const connected = rs.reduce((a, r) => a + r.connected, 0);
  const failed = rs.reduce((a, r) => a + r.failed, 0);
  return { connected, failed, seconds: round((now() - t0) / 1000, 2), connect: summarize(rs.flatMap((r) => r.times)) };
}

async function saturate(T, sessions, inflight, seconds, expectedPerWrite) {
  await all('counters', { reset: true });
  const cur = new Map(sessions.map((s) => [s.id, s.version]));
  const c0 = await genCpuMark();
  const s0 = procStat(T.srv.pid);
  const o0 = process.cpuUsage();
  const start = now();
  const end = start + seconds * 1000;
  let writes = 0;
  let errors = 0;
  let next = 0;
  const worker = async () => {
    while (now() < end) {
      const s = sessions[next++ % sessions.length];
      const r = await timedWrite(T, s);
      if (r.status === 200) {
        writes++;
        cur.set(s.id, cur.get(s.id) + 1);
      } else errors++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, sessions.length * 4) }, worker));
  const want = writes * expectedPerWrite;
  // Let queued frames drain: wait until the count stops moving or every frame arrived.
  let last = -1;
  const drainDeadline = now() + 30000;
  let got = 0;
  while (now() < drainDeadline) {
    const cs = await all('counters', {});
    got = cs.reduce((a, c) => a + c.interactionUpdates, 0);
    if (got >= want || got === last) break;
    last = got;
    await sleep(300);
  }
  const cs = await all('counters', {});
  const c1 = await genCpuMark();
  const s1 = procStat(T.srv.pid);
  const o1 = process.cpuUsage(o0);
  const lastRecv = Math.max(...cs.map((c) => c.lastRecv));
  const secs = (lastRecv - start) / 1000;
  for (const s of sessions) s.version = cur.get(s.id);
  return {
    writes,
    write_errors: errors,
    writes_in_flight: inflight,
    seconds: round(secs, 2),
    delivered: got,
    expected: want,
    messages_per_second: secs > 0 ? Math.round(got / secs) : null,
    server_cpu_percent: round(((s1.cpuMs - s0.cpuMs) / (now() - start)) * 100, 0),
    generator_cpu: genCpuSince(c0, c1),
    // The writer shares the generators' core: when both are near 100% together, the write
    // rate, not the server, bounds the figure.
    writer_cpu_percent: round(((o1.user + o1.system) / 1000 / (now() - start)) * 100, 0),
  };
}

async function scenarioFanout(T, R) {
  R.fanout = [];
  const largest = Math.max(...opts.fanout);
  for (const n of opts.fanout) {
    const [s] = await createSessions(T, 1, 1, `fanout ${n}`);
    const specs = Array.from({ length: n }, () => wsSpec(T, s.id));
    const pc = await connectPool(T, specs, false);
    await sleep(500);
    s.version = (await sessionVersion(T, s.id)) ?? s.version;
    await all('record', { on: true });
    const c0 = await genCpuMark();
    const s0 = procStat(T.srv.pid);
    const w0 = now();
    const writes = [];
    for (let k = 1; k <= opts['fanout-writes']; k++) {
      const w = await timedWrite(T, s);
      const v = s.version + 1;
      s.version = v;
      const waits = await all('waitVersion', { sid: s.id, version: v, timeoutMs: 15000 }, 30000);
      writes.push({ ...w, version: v, reached: waits.reduce((a, x) => a + x.reached, 0) });
      await sleep(20);
    }
    const c1 = await genCpuMark();
    const s1 = procStat(T.srv.pid);
    const wall = now() - w0;
    const recs = await all('takeRecording');
    await all('record', { on: false });
    const lat = [];
    const lastDelivery = [];
    let delivered = 0;
    for (const w of writes) {
      const times = recs.flatMap((r) => r[`${s.id}:${w.version}`] ?? []);
      delivered += times.length;
      for (const t of times) lat.push(t - w.t0);
      if (times.length) lastDelivery.push(Math.max(...times) - w.t0);
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
      write_ack: summarize(writes.map((w) => w.ack)),
      server_cpu_percent: round(((s1.cpuMs - s0.cpuMs) / wall) * 100, 0),
      generator_cpu: genCpuSince(c0, c1),
    };
    log(
      `  fan-out ${T.label} N=${n}: write->delivery median ${fmt(row.median, ' ms')} p99 ${fmt(row.p99, ' ms')}, ` +
        `last subscriber median ${fmt(row.last_delivery.median, ' ms')} (writes ${row.writes}, delivered ${delivered}/${row.expected}, ` +
        `connected ${pc.connected} in ${pc.seconds}s, generator CPU ${row.generator_cpu.percent_of_one_core}%)`,
    );
    if (n === largest) {
      row.saturation = await saturate(T, [s], opts['saturation-inflight'], opts['saturation-seconds'], pc.connected);
      log(
        `  saturation ${T.label} 1 session x ${n}: ${fmt(row.saturation.messages_per_second)} msg/s ` +
          `(${row.saturation.writes} writes, ${row.saturation.writes_in_flight} in flight, delivered ${row.saturation.delivered}/${row.saturation.expected}, ` +
          `server CPU ${row.saturation.server_cpu_percent}%, generator CPU ${row.saturation.generator_cpu.percent_of_one_core}%, writer CPU ${row.saturation.writer_cpu_percent}%)`,
      );
    }
    R.fanout.push(row);
    await all('closeAll', {}, 120000);
    await sleep(300);
  }
}

// ---------------------------------------------------------------- scenarios 2b, 3, 4: the pool
/**
 * Memory of an idle server over `ms`: the last RSS, and the lowest heap_used seen, which is
 * the closest an outside reader gets to the heap after a collection (V8 collects only when
 * it allocates, so any single reading may still hold the connect phase's garbage).
 */
async function idleReading(T, ms) {
  const end = now() + ms;
  let heap = null;
  let last = null;
  do {
    await sleep(250);
    const m = await metrics(T);
    if (m) last = m;
    if (typeof m?.heap_used === 'number') heap = heap === null ? m.heap_used : Math.min(heap, m.heap_used);
  } while (now() < end);
  return { rss: procStat(T.srv.pid), heap, last };
}

async function scenarioPool(T, R) {
  const S = opts['pool-sessions'];
  const per = opts['pool-subscribers'];
  // A fresh process, so the memory baseline is not the high-water mark the fan-out phase left.
  await stopServer(T.srv, 30000);
  T.srv = await launch(T);
  const sessions = await createSessions(T, S, 1, 'pool');
  const { rss: r0, heap: h0, last: m0 } = await idleReading(T, 1500);
  const specs = [];
  for (let j = 0; j < per; j++) for (const s of sessions) specs.push(wsSpec(T, s.id));
  const pc = await connectPool(T, specs, true);
  log(`  pool ${T.label}: ${pc.connected}/${specs.length} connected in ${pc.seconds}s (${S} sessions x ${per}), failed ${pc.failed}`);
  // Read once the connect burst has settled.
  const { rss: r1, heap: h1, last: m1 } = await idleReading(T, 3000);
  const heap = h0 !== null && h1 !== null ? h1 - h0 : null;
  R.memory = {
    connections: pc.connected,
    rss_before_kib: r0.rssKiB,
    rss_after_kib: r1.rssKiB,
    rss_per_connection_kib: pc.connected ? round((r1.rssKiB - r0.rssKiB) / pc.connected, 2) : null,
    heap_per_connection_kib: heap !== null && pc.connected ? round(heap / 1024 / pc.connected, 2) : null,
    ws_connections_reported: m1?.ws_connections ?? null,
    bus_subscriptions_reported: m1?.bus_subscriptions ?? null,
  };
  log(
    `  memory ${T.label} at ${pc.connected} idle connections: RSS ${fmt(R.memory.rss_per_connection_kib, ' KiB')}/connection, ` +
      `heap ${fmt(R.memory.heap_per_connection_kib, ' KiB')}/connection (RSS ${r0.rssKiB} -> ${r1.rssKiB} KiB)`,
  );

  // Fan-out spread: writes round-robin over the sessions, at most one in flight per session,
  // so each (session, version) maps to exactly one timed write.
  {
    await all('record', { on: true });
    const c0 = await genCpuMark();
    const inflight = Math.min(opts['spread-inflight'], S);
    const writes = [];
    let next = 0;
    const total = opts['spread-writes'];
    const w0 = now();
    await Promise.all(
      Array.from({ length: inflight }, async () => {
        while (next < total) {
          const s = sessions[next++ % S];
          const w = await timedWrite(T, s);
          if (w.status === 200) {
            s.version += 1;
            writes.push({ ...w, sid: s.id, version: s.version });
          }
        }
      }),
    );
    const writeSecs = (now() - w0) / 1000;
    const want = writes.length * per;
    const deadline = now() + 15000;
    let got = 0;
    while (now() < deadline) {
      const cs = await all('counters', {});
      got = cs.reduce((a, c) => a + c.interactionUpdates, 0);
      if (got >= want) break;
      await sleep(100);
    }
    const c1 = await genCpuMark();
    const recs = await all('takeRecording');
    await all('record', { on: false });
    await all('counters', { reset: true });
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
    log(
      `  fan-out ${T.label} ${S} sessions x ${per}: write->delivery median ${fmt(R.spread.median, ' ms')} p99 ${fmt(R.spread.p99, ' ms')} ` +
        `(${writes.length} writes at ${R.spread.writes_per_second}/s, ${inflight} in flight, delivered ${delivered}/${want}, generator CPU ${R.spread.generator_cpu.percent_of_one_core}%)`,
    );
    R.spread.saturation = await saturate(T, sessions, Math.min(S, opts['spread-saturation-inflight']), opts['saturation-seconds'], per);
    log(
      `  saturation ${T.label} ${S} sessions x ${per}: ${fmt(R.spread.saturation.messages_per_second)} msg/s ` +
        `(${R.spread.saturation.writes} writes, delivered ${R.spread.saturation.delivered}/${R.spread.saturation.expected}, ` +
        `server CPU ${R.spread.saturation.server_cpu_percent}%, generator CPU ${R.spread.saturation.generator_cpu.percent_of_one_core}%, writer CPU ${R.spread.saturation.writer_cpu_percent}%)`,
    );
  }

  await scenarioStorm(T, R, sessions, pc);
  await all('closeAll', {}, 120000);
}

async function scenarioStorm(T, R, sessions, pc) {
  // A replica (same DATABASE_URL and NATS_URL) lets changes be committed while the measured
  // instance is down, so the clients must recover state they never saw. Without one, the
  // changes are committed just before the stop.
  let replica = null;
  if (T.name === 'service' && backend === 'postgres' && bus === 'nats') {
    try {
      replica = await launch(T, { port: T.port + 10, logName: 'service-replica' });
    } catch (e) {
      results.notes.push(`restart storm: replica did not start (${e.message}); changes committed before the stop instead`);
    }
  }
  const writeAll = (srv) =>
    pool(sessions, 16, async (s) => {
      const w = await timedWrite(T, s, srv);
      return w.status;
    });
  const versionsFrom = async (srv) => {
    const vs = await pool(sessions, 16, (s) => sessionVersion(T, s.id, srv));
    return Object.fromEntries(sessions.map((s, i) => [s.id, vs[i]]));
  };

  let expected;
  if (!replica) {
    await writeAll(T.srv);
    await sleep(500);
    expected = await versionsFrom(T.srv);
  }
  const m0 = await metrics(T);
  const tStop = now();
  const exit = await stopServer(T.srv, 30000);
  const stopMs = now() - tStop;
  // Only connections opened after the old process is gone count as resynced.
  await all('mark', { at: now() });
  if (replica) {
    await writeAll(replica);
    expected = await versionsFrom(replica);
  }
  await all('expect', { versions: expected });
  const tStart = now();
  T.srv = await launch(T);
  const tReady = now();
  const mReady = await metrics(T);
  const sReady = procStat(T.srv.pid);
  const c0 = await genCpuMark();
  const stopSampling = sampleMetrics(T);
  const timeoutMs = opts['storm-timeout'] * 1000;
  const rs = await all('waitSettled', { timeoutMs }, timeoutMs + 30000);
  const tDone = now();
  const peaks = await stopSampling();
  const c1 = await genCpuMark();
  const mDone = await metrics(T);
  const sDone = procStat(T.srv.pid);
  const sum = (k) => rs.reduce((a, r) => a + r[k], 0);
  const syncTimes = rs.flatMap((r) => r.syncTimes).map((t) => t - tReady);
  const synced = sum('synced');
  const total = sum('total');
  // Check the expected versions against the database after the storm.
  const after = await versionsFrom(T.srv);
  const mismatched = Object.keys(expected).filter((k) => after[k] !== expected[k]).length;
  R.storm = {
    clients: total,
    sessions: sessions.length,
    changes_committed_while_down: !!replica,
    shutdown_ms: round(stopMs, 0),
    exit_code: exit.code,
    exit_signal: exit.signal,
    restart_to_ready_ms: round(tReady - tStart, 0),
    all_synced_after_start_ms: synced === total && syncTimes.length ? round(Math.max(...syncTimes) + (tReady - tStart), 0) : null,
    all_synced_after_ready_ms: synced === total && syncTimes.length ? round(Math.max(...syncTimes), 0) : null,
    per_client_after_ready: summarize(syncTimes),
    right_state: sum('rightState'),
    synced,
    told_session_gone: sum('gone'),
    failed: sum('failed'),
    stuck: sum('stuck'),
    connect_attempts: sum('connects'),
    // Counters restart with the process: their value at the end covers the whole storm,
    // including clients served before /readyz answered 200 (start-up statements included).
    sql_statements_since_start: mDone?.sql_statements ?? null,
    snapshot_queries_since_start: mDone?.snapshot_queries ?? null,
    clients_connected_at_ready: mReady?.ws_connections ?? null,
    sql_statements_during_storm: mdelta(mReady, mDone, 'sql_statements'),
    snapshot_queries_during_storm: mdelta(mReady, mDone, 'snapshot_queries'),
    bus_subscriptions_during_storm: mdelta(mReady, mDone, 'bus_subscriptions'),
    bus_subscriptions_at_ready: mReady?.bus_subscriptions ?? null,
    bus_subscriptions_peak: peaks.bus_subscriptions ?? null,
    bus_subscriptions_at_end: mDone?.bus_subscriptions ?? null,
    metrics_at_ready: mReady,
    metrics_delta: mdeltaAll(mReady, mDone),
    metrics_peak: Object.keys(peaks).length ? peaks : null,
    sql_statements_before_stop: m0?.sql_statements ?? null,
    database_versions_mismatched_after: T.name === 'service' ? mismatched : null,
    server_cpu_percent: round(((sDone.cpuMs - sReady.cpuMs) / (tDone - tReady)) * 100, 0),
    generator_cpu: genCpuSince(c0, c1),
    reconnect_policy: 'close 1012: uniform 0-1000 ms; otherwise full jitter, 200 ms x 2^n capped at 3000 ms',
    timeout_s: opts['storm-timeout'],
  };
  const st = R.storm;
  log(
    `  restart storm ${T.label}: ${total} clients on ${sessions.length} sessions; ready ${st.restart_to_ready_ms} ms after start; ` +
      `all synced ${fmt(st.all_synced_after_ready_ms, ' ms')} after ready (${fmt(st.all_synced_after_start_ms, ' ms')} after start) (per client median ${fmt(st.per_client_after_ready.median, ' ms')}, p99 ${fmt(st.per_client_after_ready.p99, ' ms')}); ` +
      `right state ${st.right_state}/${total}, gone ${st.told_session_gone}, failed ${st.failed}, stuck ${st.stuck}; ` +
      `SQL since start ${fmt(st.sql_statements_since_start)} (after ready ${fmt(st.sql_statements_during_storm)}), snapshot queries since start ${fmt(st.snapshot_queries_since_start)}, `+
      `clients connected at ready ${fmt(st.clients_connected_at_ready)}, bus subscriptions ready/peak/end ${fmt(st.bus_subscriptions_at_ready)}/${fmt(st.bus_subscriptions_peak)}/${fmt(st.bus_subscriptions_at_end)}; generator CPU ${st.generator_cpu.percent_of_one_core}%`,
  );
  if (replica) await stopServer(replica, 15000);
}

// ---------------------------------------------------------------- driver
async function runTarget(name) {
  const T = { name, ...TARGETS[name], key: null };
  const R = { label: T.label, errors: [] };
  results.targets[name] = R;
  log(`\n== ${T.label} ==`);
  T.srv = await launch(T);
  R.startup_ms = round(T.srv.readyMs, 0);
  if (name === 'service') T.key = await createServiceUser(T);
  const m = await metrics(T);
  R.metrics_endpoint = !!m;
  if (!m && name === 'service') log('  GET /metrics not available: SQL statements and bus subscriptions are n/a');
  const steps = [
    ['connect', () => scenarioConnect(T, R)],
    ['floor', () => (name === 'ws' ? scenarioFloor(T) : null)],
    ['fanout', () => scenarioFanout(T, R)],
    ['pool', () => scenarioPool(T, R)],
  ];
  for (const [step, fn] of steps) {
    try {
      await fn();
    } catch (e) {
      R.errors.push(`${step}: ${e.message}`);
      log(`  ${step} failed: ${e.message}`);
      await all('closeAll', {}, 120000).catch(() => {});
      // A scenario may have left the server stopped (the storm): bring it back for the next.
      if (T.srv.child.exitCode !== null || T.srv.child.signalCode !== null) {
        try {
          T.srv = await launch(T);
        } catch (e2) {
          R.errors.push(`restart after ${step}: ${e2.message}`);
          break;
        }
      }
    }
    saveJson();
  }
  await stopServer(T.srv, 30000);
}

function saveJson() {
  fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify(results, null, 2));
}

let finishing = false;
async function finish(code) {
  if (finishing) return;
  finishing = true;
  results.meta.finished = new Date().toISOString();
  results.meta.seconds = round((Date.now() - Date.parse(results.meta.started)) / 1000, 0);
  try {
    saveJson();
    writeReports(results, OUT);
    log(`\nbench: wrote bench/out/results.json, results.md, results.svg (${results.meta.seconds}s)`);
  } catch (e) {
    console.error(`bench: could not write the report: ${e.stack}`);
  }
  for (const g of gens) g.child.kill('SIGTERM');
  for (const s of liveServers()) s.child.kill('SIGKILL');
  closeAgent();
  process.exit(code);
}
function liveServers() {
  return [...servers];
}

async function main() {
  let serviceReady = true;
  if (opts.targets.includes('service')) {
    try {
      build();
    } catch (e) {
      console.error(`bench: ${e.message}`);
      results.notes.push(e.message);
      serviceReady = false;
    }
  }
  gens = Array.from({ length: generatorCount }, (_, i) => new Generator(i));
  await Promise.all(gens.map((g) => g.ready));
  // The ws target runs last so the floor can use the service's real frame sizes.
  const order = ['service', 'socketio', 'ws'].filter((t) => opts.targets.includes(t));
  let exitCode = 0;
  for (const t of order) {
    if (t === 'service' && !serviceReady) {
      exitCode = 1;
      continue;
    }
    try {
      await runTarget(t);
    } catch (e) {
      console.error(`bench: ${TARGETS[t].label}: ${e.message}`);
      results.targets[t].errors.push(e.message);
      // A service that cannot start fails the run; a number never does.
      if (t === 'service') exitCode = 1;
    }
    saveJson();
  }
  await finish(exitCode);
}

process.on('SIGINT', () => finish(130));
main().catch((e) => {
  console.error(e.stack);
  finish(1);
});
