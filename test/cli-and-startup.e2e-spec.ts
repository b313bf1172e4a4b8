import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Api } from './helpers/api.js';
import { createEmbeddedDatabase, createPostgresDatabase, type TestDatabase } from './helpers/database.js';
import { freePort } from './helpers/ports.js';
import { ServiceProcess } from './helpers/service.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function run(script: 'cli' | 'main', args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, [`dist/src/${script}.js`, ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: '', NATS_URL: '', LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('CLI and start-up (real processes)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });
  const track = <T extends TestDatabase>(db: T) => (cleanup.push(() => db.drop()), db);
  const started = (service: ServiceProcess) => (cleanup.push(() => service.stop('SIGKILL')), service);

  it('prints the first user’s key once on the first start, and never again', async () => {
    const db = track(await createPostgresDatabase());
    const first = started(await ServiceProcess.start(db.env));
    const lines = first.output.filter((line) => line.startsWith('api_key: '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^api_key: sk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect((await first.api().request('GET', '/sessions')).status).toBe(200);
    expect(await first.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const second = started(await ServiceProcess.start(db.env));
    expect(second.output.some((line) => line.includes('api_key'))).toBe(false);
    expect(second.apiKey).toBeUndefined();
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
    const service = started(await ServiceProcess.start(db.env));
    const busy = run('cli', ['users', 'create', 'dave'], db.env);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/in use by another process \(pid \d+\)\. Stop that process first/);
    expect(busy.stderr).toMatch(/While the service runs, manage users and keys through its REST API instead: POST \/api\/v1\/users/);
    expect(busy.stdout).toBe('');
    await service.stop('SIGTERM');
    const ok = run('cli', ['users', 'create', 'dave'], db.env);
    expect(ok.code).toBe(0);
    const { api_key: key } = JSON.parse(ok.stdout);
    const again = started(await ServiceProcess.start(db.env));
    expect((await new Api(again.baseUrl, key).request('GET', '/sessions')).status).toBe(200);
  });

  it.each([
    [['users'], /usage: npm run cli -- users create NAME/, 2],
    [['users', 'create', ''], /name must be 1 to 100 characters/, 1],
    [['groups', 'create', 'x'], /usage/, 2],
  ])('refuses %j with a clear message', (args, message, code) => {
    const result = run('cli', args, { DATA_DIR: '/nonexistent-never-created' });
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
  });

  it('stops at start with a plain message when NATS cannot be reached', async () => {
    const db = track(createEmbeddedDatabase());
    const result = run('main', [], { ...db.env, NATS_URL: `nats://127.0.0.1:${await freePort()}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: NATS_URL: cannot connect to nats:\/\/127\.0\.0\.1:\d+ .*start NATS or unset NATS_URL/m);
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
    expect(result.stderr).toMatch(message);
  });
});
