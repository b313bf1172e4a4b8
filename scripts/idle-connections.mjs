// Heap and RSS per idle WebSocket connection, for this service or a bare `ws` server.
//
//   ulimit -n 20000
//   node --expose-gc scripts/idle-connections.mjs [--bare] [--connections 10000] [--sessions 1000]
//
// The server runs in this process (the service built as main.ts builds it, on DATABASE_URL /
// NATS_URL when set, else the embedded database), the clients in a child process. Heap and
// RSS are read after two full GCs, before and after every client holds an idle connection
// that has received its first frame. Needs `npm run build:server` first.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(args[index + 1]);
};
const CONNECTIONS = option('connections', 10_000);
const SESSIONS = option('sessions', 1000);
const BARE = args.includes('--bare');

if (process.argv[2] === '--client') await client();
else await server();

function settle() {
  for (let i = 0; i < 3; i++) globalThis.gc();
  return process.memoryUsage();
}

async function server() {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
  let url;
  let sessionIds;
  let stop;
  let dataDir;
  if (BARE) {
    const { WebSocketServer } = await import('ws');
    const frame = Buffer.from(JSON.stringify({ type: 'session_update', version: 1, snapshot: true, session: { id: 'x', interactions: [] } }));
    const http = createServer();
    const wss = new WebSocketServer({ server: http, path: '/api/v1/ws/user', maxPayload: 64 * 1024 });
    wss.on('connection', (socket) => {
      socket.on('message', () => socket.send(frame, { binary: false }));
      socket.send(frame, { binary: false });
    });
    await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${http.address().port}/api/v1/ws/user`;
    sessionIds = Array.from({ length: SESSIONS }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    stop = () => new Promise((resolve) => (wss.close(), http.close(resolve)));
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'idle-'));
    const { loadConfig } = await import('../dist/src/config/app-config.js');
    const { createApp } = await import('../dist/src/app.factory.js');
    const { UsersService } = await import('../dist/src/users/users.service.js');
    const { SessionsService } = await import('../dist/src/sessions/sessions.service.js');
    const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn', PORT: '0', DATA_DIR: dataDir, VERSION_CHECK_INTERVAL_MS: '0' });
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = () => true;
    const app = await createApp(config);
    await app.listen(0, '127.0.0.1');
    process.stdout.write = write;
    const user = await app.get(UsersService).create('idle');
    const sessions = app.get(SessionsService);
    sessionIds = [];
    for (let i = 0; i < SESSIONS; i++) sessionIds.push((await sessions.create(user.user_id, `idle ${i}`)).id);
    url = `ws://127.0.0.1:${app.getHttpServer().address().port}/api/v1/ws/user`;
    process.env.IDLE_KEY = user.api_key;
    stop = () => app.close();
  }
  const before = settle();
  if (args.includes('--heap-snapshot')) (await import('node:v8')).writeHeapSnapshot(`idle-${BARE ? 'bare' : 'service'}-before.heapsnapshot`);
  const child = fork(fileURLToPath(import.meta.url), ['--client', '--connections', String(CONNECTIONS)], {
    env: { ...process.env, IDLE_URL: url, IDLE_SESSIONS: sessionIds.join(','), IDLE_KEY: process.env.IDLE_KEY ?? '' },
  });
  const opened = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`client exited ${code}`)));
  });
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const after = settle();
  if (args.includes('--heap-snapshot')) (await import('node:v8')).writeHeapSnapshot(`idle-${BARE ? 'bare' : 'service'}.heapsnapshot`);
  const kib = (bytes) => (bytes / opened / 1024).toFixed(2);
  console.log(
    JSON.stringify({
      server: BARE ? 'bare ws' : 'session-sync',
      connections: opened,
      sessions: SESSIONS,
      heap_per_connection_kib: Number(kib(after.heapUsed - before.heapUsed)),
      rss_per_connection_kib: Number(kib(after.rss - before.rss)),
      heap_total_per_connection_kib: Number(kib(after.heapTotal - before.heapTotal)),
      external_per_connection_kib: Number(kib(after.external - before.external)),
      node: process.version,
    }),
  );
  child.kill('SIGKILL');
  await stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
}

async function client() {
  const { default: WebSocket } = await import('ws');
  const sessions = process.env.IDLE_SESSIONS.split(',');
  const key = process.env.IDLE_KEY;
  const sockets = [];
  let next = 0;
  let open = 0;
  await new Promise((resolve, reject) => {
    const start = () => {
      if (next >= CONNECTIONS) return;
      const i = next++;
      const query = `session_id=${sessions[i % sessions.length]}${key ? `&access_token=${key}` : ''}`;
      const socket = new WebSocket(`${process.env.IDLE_URL}?${query}`);
      sockets.push(socket);
      socket.once('message', () => {
        if (++open === CONNECTIONS) resolve();
        start();
      });
      socket.once('close', (code) => reject(new Error(`connection ${i} closed with ${code}`)));
      socket.on('error', reject);
    };
    for (let i = 0; i < 100; i++) start();
  });
  process.send(open);
  setInterval(() => undefined, 1 << 30);
}
