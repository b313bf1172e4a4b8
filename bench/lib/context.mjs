// What every scenario shares: the run's options and results, the targets and how to start
// them, the load generators, REST and /metrics helpers, and the phases more than one
// scenario uses (a pool of held connections, timed writes, saturation).
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request, expectOk, pool } from './http.mjs';
import { startServer, stopServer, waitReady, procStat } from './proc.mjs';
import { parseMetrics } from './metrics.mjs';
import { genCpuSince } from './generators.mjs';
import { summarize, round } from './stats.mjs';

export const BENCH = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ROOT = path.dirname(BENCH);
export const OUT = path.join(BENCH, 'out');
export const HOST = '127.0.0.1';
export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const TARGETS = {
  service: { label: 'service', kind: 'ws', offset: 0 },
  socketio: { label: 'socket.io', kind: 'sio', offset: 1 },
  ws: { label: 'ws', kind: 'ws', offset: 2 },
};

/**
 * The run's context. `env` holds what the runner decided (backend, bus, pinning); scenarios
 * get it with the current target as `ctx.T` (its server in `ctx.T.srv`, restartable) and its
 * results as `ctx.R`.
 */
export function makeContext({ opts, results, gens, env }) {
  const { backend, bus, SERVER_CORES } = env;
  const servers = new Set();
  const serviceDataDir = path.join(OUT, `data-${Date.now()}`);
  const log = (...a) => console.log(...a);

  function serviceEnv(port) {
    const e = { PORT: String(port), HOST, NODE_ENV: 'production' };
    // One API key drives the whole load, where production spreads it over many: the per-key
    // and per-address rate limits, and the per-key cap on WebSocket connections (1,000 by
    // default, against the bench's 10,000 clients), would measure themselves. Off unless the
    // caller sets them.
    for (const k of ['RATE_LIMIT_PER_SECOND', 'RATE_LIMIT_IP_PER_SECOND', 'WS_MAX_CONNECTIONS_PER_KEY']) if (process.env[k] === undefined) e[k] = '0';
    if (backend === 'embedded') e.DATA_DIR = serviceDataDir;
    return e;
  }

  /** Starts a target's server; resolves once /readyz is 200 (`readyMs` from spawn). */
  async function launch(T, { port = T.port, logName = T.name, extraEnv = {}, onStart } = {}) {
    const base = `http://${HOST}:${port}`;
    let argv;
    let senv = {};
    let keyLine = null;
    if (T.name === 'service') {
      const prof = opts['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(opts['cpu-prof'])}`] : [];
      argv = [process.execPath, ...prof, ...(opts['trace-gc'] ? ['--trace-gc'] : []), 'dist/server/main.js'];
      senv = { ...serviceEnv(port), ...extraEnv };
    } else {
      argv = [process.execPath, path.join(BENCH, 'peers', T.name === 'ws' ? 'ws-peer.mjs' : 'socketio-peer.mjs'), `--port=${port}`, `--host=${HOST}`];
    }
    const keyP = new Promise((resolve) => (keyLine = resolve));
    const t0 = now();
    const srv = startServer({
      argv,
      env: senv,
      cores: SERVER_CORES,
      cwd: ROOT,
      logFile: path.join(OUT, `${logName}.log`),
      onLine: (line) => {
        const m = /api_key: (\S+)\s*$/.exec(line.trim());
        if (m) keyLine(m[1]);
      },
    });
    srv.startedAt = t0;
    onStart?.(srv);
    servers.add(srv);
    srv.exited.then(() => servers.delete(srv));
    const ok = await waitReady(base, T.name === 'service' ? 120000 : 20000, srv);
    if (!ok) {
      await stopServer(srv, 5000);
      throw new Error(`${T.label} did not become ready on ${base} (see bench/out/${logName}.log)`);
    }
    srv.readyAt = now();
    srv.readyMs = srv.readyAt - t0;
    srv.base = base;
    srv.key = await Promise.race([keyP, sleep(T.name === 'service' ? 1500 : 0).then(() => null)]);
    return srv;
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

  async function createServiceUser(T) {
    if (T.srv.key) return T.srv.key;
    const e = { ...process.env, ...serviceEnv(T.port) };
    const run = () => spawnSync('npm', ['run', '--silent', 'cli', '--', 'users', 'create', `bench-${Date.now()}`], { cwd: ROOT, env: e, encoding: 'utf8', timeout: 60000 });
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

  /**
   * A connection spec for the load generators. `delta: 'append'` and `since: V` go in the
   * URL as the v1.1 contract has them; `resume: true` makes the generator add `since=` its
   * last applied version on every reconnect.
   */
  function wsSpec(T, sid, { delta, since, resume } = {}) {
    if (T.kind === 'sio') return { kind: 'sio', url: `http://${HOST}:${T.port}`, sid };
    const q = new URLSearchParams({ session_id: sid });
    if (T.key) q.set('access_token', T.key);
    if (delta) q.set('delta', delta);
    if (since) q.set('since', String(since));
    return { kind: 'ws', url: `ws://${HOST}:${T.port}/api/v1/ws/user?${q}`, sid, resume: !!resume };
  }

  const api = (T, method, p, body, o = {}) => request((o.srv ?? T.srv).base, method, `/api/v1${p}`, { body, token: T.key, headers: o.headers });

  let metricsFormat = null;
  async function metrics(T, srv = T.srv) {
    try {
      // METRICS_TOKEN, when the service runs with one, guards /metrics instead of the API key.
      const token = (T.name === 'service' && process.env.METRICS_TOKEN) || T.key;
      const r = await request(srv.base, 'GET', '/metrics', { token, timeoutMs: 5000, headers: { accept: 'application/json, text/plain;q=0.9' } });
      if (r.status !== 200) return null;
      const m = parseMetrics(r.text);
      if (m && T.name === 'service' && !metricsFormat) {
        metricsFormat = m.format;
        results.meta.metrics_format = m.format;
      }
      return m;
    } catch {
      return null;
    }
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

  const PROMPT = 'p'.repeat(Math.max(1, opts['prompt-bytes']));
  const RESPONSE = 'r'.repeat(Math.max(1, opts['response-bytes']));
  const APPEND = 'a'.repeat(Math.max(1, opts['append-bytes']));

  /**
   * Creates `count` sessions of `interactions` completed interactions each through REST;
   * `open: true` leaves the last one `editing` with an empty response (for appends).
   */
  async function createSessions(T, count, interactions, name, { open = false, response = RESPONSE } = {}) {
    const items = Array.from({ length: count }, (_, i) => i);
    return pool(items, 16, async (i) => {
      const s = await expectOk(api(T, 'POST', '/sessions', { name: `${name} ${i}` }), 'create session');
      let iid = null;
      for (let k = 0; k < interactions; k++) {
        const it = await expectOk(api(T, 'POST', `/sessions/${s.id}/interactions`, { prompt_message: PROMPT }), 'create interaction');
        iid = it.id;
        if (open && k === interactions - 1) {
          if (response) await expectOk(api(T, 'PATCH', `/sessions/${s.id}/interactions/${iid}`, { response_message: response, state: 'editing' }), 'fill interaction');
        } else {
          await expectOk(api(T, 'PATCH', `/sessions/${s.id}/interactions/${iid}`, { response_message: response, state: 'complete' }), 'complete interaction');
        }
      }
      const full = await expectOk(api(T, 'GET', `/sessions/${s.id}`), 'get session');
      return { id: s.id, iid, version: full.version };
    });
  }

  async function sessionVersion(T, sid, srv = T.srv) {
    const r = await request(srv.base, 'GET', `/api/v1/sessions/${sid}`, { token: T.key });
    return r.status === 200 ? r.json.version : null;
  }

  async function timedWrite(T, s, srv = T.srv) {
    const t0 = now();
    const r = await request(srv.base, 'PATCH', `/api/v1/sessions/${s.id}/interactions/${s.iid}`, { body: { append: APPEND }, token: T.key });
    return { t0, ack: now() - t0, status: r.status };
  }

  /** Opens and holds `specs` on the generators (the pool); `reconnect` as the storm needs. */
  async function connectPool(T, specs, reconnect) {
    const t0 = now();
    const rs = await gens.each('connect', 'specs', specs, { reconnect, inflight: 100 }, 300000);
    const connected = rs.reduce((a, r) => a + r.connected, 0);
    const failed = rs.reduce((a, r) => a + r.failed, 0);
    return { connected, failed, seconds: round((now() - t0) / 1000, 2), connect: summarize(rs.flatMap((r) => r.times)) };
  }

  /** Writes kept in flight for `seconds`, then the messages the held clients received per second. */
  async function saturate(T, sessions, inflight, seconds, expectedPerWrite) {
    await gens.all('counters', { reset: true });
    const cur = new Map(sessions.map((s) => [s.id, s.version]));
    const c0 = await gens.cpuMark();
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
      const cs = await gens.all('counters', {});
      got = cs.reduce((a, c) => a + c.interactionUpdates, 0);
      if (got >= want || got === last) break;
      last = got;
      await sleep(300);
    }
    const cs = await gens.all('counters', {});
    const c1 = await gens.cpuMark();
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

  async function stopAll() {
    for (const s of [...servers]) s.child.kill('SIGKILL');
  }

  return {
    opts,
    results,
    gens,
    env,
    log,
    backend,
    bus,
    launch,
    stop: stopServer,
    createServiceUser,
    wsSpec,
    api,
    metrics,
    sampleMetrics,
    createSessions,
    sessionVersion,
    timedWrite,
    connectPool,
    saturate,
    stopAll,
    PROMPT,
    RESPONSE,
    APPEND,
    note: (text) => {
      if (!results.notes.includes(text)) results.notes.push(text);
      log(`  note: ${text}`);
    },
  };
}
