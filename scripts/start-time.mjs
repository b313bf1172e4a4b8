// Measures process start → /readyz 200 with clients knocking, and where the time goes.
//
//   node scripts/start-time.mjs [--runs 5] [--clients 20] [--npm | --entry dist/src/main.js]
//
// Runs `node dist/server/main.js` (what `npm start` runs; another entry with --entry, or
// `npm start` itself with --npm) on the database and bus of the
// environment (DATABASE_URL, NATS_URL; neither means a throwaway embedded database), with
// `--clients` WebSocket clients on one session that start knocking at the moment the process
// is spawned and retry 50 ms after a refusal. Per run it prints the service's own phases
// (its `ready` log line: port open, modules loaded, application built), when /readyz first
// answered 200, when every client held its first state, and how many connects were refused.
// Build first (`npm run build`).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values: options } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, clients: { type: 'string', default: '20' }, npm: { type: 'boolean', default: false }, entry: { type: 'string', default: 'dist/server/main.js' } },
});
const ROOT = new URL('..', import.meta.url).pathname;
const runs = Number(options.runs);
const clients = Number(options.clients);
const dataDir = process.env.DATABASE_URL ? undefined : mkdtempSync(join(tmpdir(), 'start-time-'));
const baseEnv = { ...process.env, LOG_LEVEL: 'info', HOST: '127.0.0.1', ...(dataDir ? { DATA_DIR: dataDir } : {}) };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

function startService(port) {
  const [command, args] = options.npm ? ['npm', ['start']] : [process.execPath, [options.entry]];
  const child = spawn(command, args, { cwd: ROOT, env: { ...baseEnv, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  const state = { child, lines: [], exited: new Promise((resolve) => child.once('exit', resolve)) };
  let buffered = '';
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop();
    state.lines.push(...lines);
  });
  return state;
}

/** CPU time (user + system, all threads) the process has used: steadier than wall time on a busy machine. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

async function stopService(service) {
  service.child.kill('SIGTERM');
  await service.exited;
}

async function waitReady(port) {
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);
    if (status === 200) return;
    await sleep(10);
  }
}

/** One client: connects until it gets its first frame; counts refusals. */
function knock(port, sessionId, key, t0, result) {
  return new Promise((resolve) => {
    const attempt = () => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws/user?session_id=${sessionId}&access_token=${key}`);
      let done = false;
      socket.once('message', () => {
        done = true;
        result.firstState.push(performance.now() - t0);
        socket.terminate();
        resolve();
      });
      socket.once('error', (error) => {
        if (error.code === 'ECONNREFUSED') result.refused++;
        else result.failed++;
      });
      socket.once('close', () => {
        if (!done) setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

const port = await freePort();
// A user and a session to knock on.
const created = spawnSync('npm', ['run', '--silent', 'cli', '--', 'users', 'create', `start-time-${Date.now()}`], { cwd: ROOT, env: baseEnv, encoding: 'utf8' });
if (created.status !== 0) throw new Error(`could not create a user: ${created.stderr}`);
const { api_key: key } = JSON.parse(created.stdout);
let service = startService(port);
await waitReady(port);
const session = await fetch(`http://127.0.0.1:${port}/api/v1/sessions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"name":"start-time"}' }).then((r) => r.json());
await stopService(service);

const rows = [];
for (let run = 1; run <= runs; run++) {
  const result = { firstState: [], refused: 0, failed: 0 };
  const t0 = performance.now();
  service = startService(port);
  const knocking = Promise.all(Array.from({ length: clients }, () => knock(port, session.id, key, t0, result)));
  await waitReady(port);
  const readyz = performance.now() - t0;
  const cpu = cpuMs(service.child.pid);
  await knocking;
  await sleep(100);
  const ready = service.lines.map((line) => (line.startsWith('{') ? JSON.parse(line) : {})).find((record) => record.msg === 'ready');
  await stopService(service);
  result.firstState.sort((a, b) => a - b);
  rows.push({ run, ...ready?.start_ms, ...Object.fromEntries(Object.entries(ready?.start_cpu_ms ?? {}).map(([k, v]) => [`cpu_${k}`, v])), readyz_200: Math.round(readyz), cpu_at_readyz: cpu, last_client_state: Math.round(result.firstState.at(-1)), refused: result.refused, failed: result.failed });
  console.log(JSON.stringify(rows.at(-1)));
}
if (dataDir) rmSync(dataDir, { recursive: true, force: true });

const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
const keys = ['listening', 'modules', 'application', 'ready', 'cpu_listening', 'cpu_modules', 'cpu_application', 'cpu_ready', 'readyz_200', 'cpu_at_readyz', 'last_client_state', 'refused'];
console.log(`\nmedian of ${runs} runs (ms since spawn; ${clients} clients knocking; ${options.npm ? 'npm start' : `node ${options.entry}`}; ${process.env.DATABASE_URL ? 'postgres' : 'embedded'} + ${process.env.NATS_URL ? 'nats' : 'memory bus'}):`);
console.log(keys.map((k) => `${k}=${median(rows.map((row) => row[k] ?? NaN))}`).join('  '));
console.log('listening/ready: the service\'s own clock (since its process started); modules and application: the phases between them; cpu_*: the service\'s own CPU ms by phase (process.cpuUsage); cpu_at_readyz: CPU ms the spawned process had used (with --npm: npm\'s own).');
