import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Api } from './helpers/api.js';
import { createEmbeddedDatabase, createPostgresDatabase, type TestDatabase } from './helpers/database.js';
import { FaultProxy } from './helpers/fault-proxy.js';
import { freePort } from './helpers/ports.js';
import { ServiceProcess } from './helpers/service.js';
import { TestSocket } from './helpers/ws.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The CLI as documented (`npm run --silent cli -- …`), or the service's entry point. */
function run(script: 'cli' | 'main', args: string[], env: Record<string, string>, npmFlags = ['--silent']) {
  const [command, argv] = script === 'cli' ? ['npm', ['run', ...npmFlags, 'cli', '--', ...args]] : [process.execPath, ['dist/server/main.js', ...args]];
  const result = spawnSync(command, argv, {
    cwd: ROOT,
    // npm runs the scripts with the same node as this run.
    env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, DATABASE_URL: '', NATS_URL: '', LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    // A first use of an embedded database creates its files: slow on a busy machine.
    timeout: 150_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The `msg` of every pino record in a stream of log lines (at or above `level`). */
function logged(text: string, level = 0): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((record) => record.level >= level)
    .map((record) => record.msg);
}

/** Bound on a start that first creates an embedded database's files (slow on a busy machine). */
const EMBEDDED_FIRST_START_MS = 120_000;
const FATAL = 60;
const ERROR = 50;

describe('CLI and start-up (real processes)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  }, 120_000);
  const track = <T extends TestDatabase>(db: T) => (cleanup.push(() => db.drop()), db);
  const started = (service: ServiceProcess) => (cleanup.push(() => service.stop('SIGKILL')), service);

  it('prints the first user’s key once on the first start, and never again', async () => {
    const db = track(await createPostgresDatabase());
    const first = started(await ServiceProcess.start(db.env));
    const lines = first.output.filter((line) => line.startsWith('api_key: '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^api_key: sk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    // Around it, a block no newcomer misses: where to sign in, and that it is shown once.
    const banner = first.output.slice(first.output.indexOf(lines[0]) - 6, first.output.indexOf(lines[0])).join('\n');
    expect(banner).toContain(`${first.baseUrl}/`);
    expect(banner).toMatch(/shown ONLY THIS ONCE/);
    // Every other line is a pino JSON record: one log format.
    const other = first.output.filter((line) => line !== '' && !line.startsWith('api_key: ') && !line.startsWith('=') && !line.startsWith('  '));
    expect(other.filter((line) => !line.startsWith('{'))).toEqual([]);
    expect(logged(other.join('\n'))).toContain('ready');
    expect((await first.api().request('GET', '/sessions')).status).toBe(200);
    expect(await first.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const second = started(await ServiceProcess.start(db.env));
    expect(second.output.some((line) => line.includes('api_key'))).toBe(false);
    expect(second.apiKey).toBeUndefined();
  });

  it('two replicas with DATABASE_POOL_SIZE=1 start together on a fresh database: one migrates under the lock, on its one connection, the other waits', async () => {
    const db = track(await createPostgresDatabase());
    const env = { ...db.env, DATABASE_POOL_SIZE: '1' };
    const [a, b] = await Promise.all([ServiceProcess.start(env), ServiceProcess.start(env)]).then((both) => both.map(started));
    // Exactly one of them created the schema and so printed the first user's key.
    expect([a.apiKey, b.apiKey].filter(Boolean)).toHaveLength(1);
    const key = (a.apiKey ?? b.apiKey)!;
    const session = await a.api(key).createSession('pool of one');
    expect((await b.api(key).getSession(session.id)).name).toBe('pool of one');
  });

  it('holds a WebSocket connect and a REST call that arrive during start-up, and answers both once ready', async () => {
    const db = track(await createPostgresDatabase());
    const first = started(await ServiceProcess.start(db.env));
    const key = first.apiKey!;
    const session = await first.api().createSession('knocking early');
    await first.stop('SIGTERM');

    // The database answers nothing until the clients are in: the restarted service cannot
    // get ready before them, whatever the machine's speed.
    const proxy = await FaultProxy.inFrontOf(db.url!);
    cleanup.push(() => proxy.close());
    await proxy.set('blackhole');
    const service = started(await ServiceProcess.spawn({ DATABASE_URL: proxy.through(db.url!) }));
    await service.waitListening();
    expect((await fetch(`${service.baseUrl}/healthz`)).status).toBe(200);
    const early = await fetch(`${service.baseUrl}/readyz`);
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toBe('1');

    const client = TestSocket.connect(service.wsBase, session.id, key);
    const rest = new Api(service.baseUrl, key).request('GET', `/sessions/${session.id}`);
    let restAnswered = false;
    void rest.then(() => (restAnswered = true));
    // Still starting (the database is held): both wait, neither is refused.
    expect((await fetch(`${service.baseUrl}/readyz`)).status).toBe(503);
    expect(client.frames).toEqual([]);
    expect(client.isClosed).toBe(false);
    expect(restAnswered).toBe(false);

    await proxy.set('pass');
    await service.waitReady();
    const snapshot = await client.next((frame) => frame.type === 'session_update');
    expect(snapshot).toEqual(expect.objectContaining({ snapshot: true, session: expect.objectContaining({ id: session.id }) }));
    expect((await rest).status).toBe(200);
  });

  it('`users create NAME` prints one JSON line whose key works, while the service runs on DATABASE_URL', async () => {
    const db = track(await createPostgresDatabase());
    // On an empty database the CLI migrates first; its logs must stay off stdout.
    const first = run('cli', ['users', 'create', 'first'], db.env);
    expect(first.code).toBe(0);
    expect(first.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(first.stdout)).toEqual({ user_id: expect.stringMatching(UUID), api_key: expect.stringMatching(/^sk_/) });
    const service = started(await ServiceProcess.start(db.env));
    const result = run('cli', ['users', 'create', 'carol'], db.env);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const user = JSON.parse(lines[0]);
    expect(user).toEqual({ user_id: expect.stringMatching(UUID), api_key: expect.stringMatching(/^sk_/) });
    const carol = new Api(service.baseUrl, user.api_key);
    expect((await carol.createSession('carol’s')).owner).toBe(user.user_id);
  });

  it('on the embedded database, says plainly that the service must be stopped, then works once it is', async () => {
    const db = track(createEmbeddedDatabase());
    const service = started(await ServiceProcess.start(db.env, undefined, EMBEDDED_FIRST_START_MS));
    const busy = run('cli', ['users', 'create', 'dave'], db.env);
    expect(busy.code).toBe(1);
    const busyMessage = logged(busy.stderr, ERROR).join('\n');
    expect(busyMessage).toMatch(/in use by another process \(pid \d+\)\. Stop that process first/);
    expect(busyMessage).toMatch(/While the service runs, manage users and keys through its REST API instead: POST \/api\/v1\/users/);
    expect(busy.stdout).toBe('');
    await service.stop('SIGTERM');
    const ok = run('cli', ['users', 'create', 'dave'], db.env);
    expect(ok.code).toBe(0);
    const { api_key: key } = JSON.parse(ok.stdout);
    const again = started(await ServiceProcess.start(db.env, undefined, EMBEDDED_FIRST_START_MS));
    expect((await new Api(again.baseUrl, key).request('GET', '/sessions')).status).toBe(200);
   }, 4 * EMBEDDED_FIRST_START_MS);

  it('`npm run cli` without --silent: npm announces the script on stdout, the JSON is a line of its own', async () => {
    const db = track(await createPostgresDatabase());
    const result = run('cli', ['users', 'create', 'erin'], db.env, []);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^> session-sync@[\d.]+ cli$/);
    expect(JSON.parse(lines.at(-1)!)).toEqual({ user_id: expect.stringMatching(UUID), api_key: expect.stringMatching(/^sk_/) });
  });

  it('`npm run` is audible: an unknown script fails with a message', () => {
    const result = spawnSync('npm', ['run', 'no-such-script'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/Missing script: "no-such-script"/);
  });

  it.each([
    [['users'], /usage: npm run --silent cli -- users create NAME/, 2],
    [['users', 'create', ''], /name must be 1 to 100 characters/, 1],
    [['groups', 'create', 'x'], /usage/, 2],
  ])('refuses %j with a clear message', (args, message, code) => {
    const result = run('cli', args, { DATA_DIR: '/nonexistent-never-created' });
    expect(result.code).toBe(code);
    expect(result.stdout).toBe('');
    expect(logged(result.stderr, ERROR).join('\n')).toMatch(message);
  });

  it('stops at start with a plain message when NATS cannot be reached', async () => {
    const db = track(createEmbeddedDatabase());
    const result = run('main', [], { ...db.env, NATS_URL: `nats://127.0.0.1:${await freePort()}` });
    expect(result.code).toBe(1);
    expect(logged(result.stdout, FATAL)).toEqual([expect.stringMatching(/^error: NATS_URL: cannot connect to nats:\/\/127\.0\.0\.1:\d+ .*start NATS or unset NATS_URL/)]);
    expect(result.stdout.split('\n').filter((line) => line && !line.startsWith('{'))).toEqual([]);
    expect(result.stderr).toBe('');
  });

  it.each([
    ['PORT', 'abc', /PORT must be an integer from 0 to 65535, got "abc"/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL must start with postgres:\/\//],
    ['NATS_URL', 'http://x', /NATS_URL must start with nats:\/\//],
    ['BODY_LIMIT', 'lots', /BODY_LIMIT must be a positive size/],
    ['WS_MAX_PAYLOAD', '0', /WS_MAX_PAYLOAD must be a positive size/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of/],
  ])('stops at start on a bad %s, naming it', (name, value, message) => {
    const result = run('main', [], { [name]: value });
    expect(result.code).toBe(1);
    expect(logged(result.stdout, FATAL)).toEqual([expect.stringMatching(message)]);
  });
});
