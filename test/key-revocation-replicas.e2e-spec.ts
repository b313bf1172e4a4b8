import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CloseCode } from '../src/protocol/protocol.js';
import { Api } from './helpers/api.js';
import { useReplicas } from './helpers/replicas.js';
import { TestSocket } from './helpers/ws.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The CLI as a real process, asynchronously (the replicas keep serving meanwhile). */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/src/cli.js', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A revoked key stops working on every replica, not only the one that revoked it: each has
 * the key in its auth cache (kept ten minutes here, so only the announcement can clear it in
 * time) and the key's sockets open, and the revocation through A reaches B over NATS.
 */
describe('key revocation across replicas (Postgres + NATS)', () => {
  const fx = useReplicas({ AUTH_CACHE_TTL_MS: '600000' });

  async function userWithSocketOnB(name: string) {
    const created = (await fx.viaA.request('POST', '/users', { name })).body;
    const onB = new Api(fx.b.baseUrl, created.api_key);
    const session = await onB.createSession('followed on b');
    const socket = TestSocket.connect(fx.b.wsBase, session.id, created.api_key);
    await socket.next();
    // B has verified the key (REST and socket): it is in B's cache now.
    expect((await onB.request('GET', `/sessions/${session.id}`)).status).toBe(200);
    return { created, onB, session, socket };
  }

  it('a key revoked through replica A closes its socket on B with 4401 and is refused by B\'s REST right after', async () => {
    const { created, onB, session, socket } = await userWithSocketOnB('leaky');
    expect((await fx.viaA.request('DELETE', `/keys/${created.key.id}`)).status).toBe(204);
    expect((await socket.closed).code).toBe(CloseCode.Unauthorized);
    expect((await onB.request('GET', `/sessions/${session.id}`)).status).toBe(401);
    expect((await new Api(fx.a.baseUrl, created.api_key).request('GET', '/sessions')).status).toBe(401);
    const again = TestSocket.connect(fx.b.wsBase, session.id, created.api_key);
    expect((await again.closed).code).toBe(CloseCode.Unauthorized);
  });

  it('a rotation through A revokes the old key on B too', async () => {
    const { created, onB, socket } = await userWithSocketOnB('rotating');
    const rotated = await new Api(fx.a.baseUrl, created.api_key).request('POST', '/keys/rotate');
    expect(rotated.status).toBe(201);
    expect((await socket.closed).code).toBe(CloseCode.Unauthorized);
    expect((await onB.request('GET', '/sessions')).status).toBe(401);
    expect((await new Api(fx.b.baseUrl, rotated.body.api_key).request('GET', '/sessions')).status).toBe(200);
  });

  it('the CLI on DATABASE_URL and NATS_URL creates, lists and revokes keys while the replicas run, and B hears of it', async () => {
    const { created, onB, socket } = await userWithSocketOnB('cli-managed');
    const env = { ...fx.replicas.env, LOG_LEVEL: 'warn' };
    const made = await cli(['keys', 'create', created.user_id], env);
    expect(made.code).toBe(0);
    const newKey = JSON.parse(made.stdout);
    expect(newKey).toMatchObject({ user_id: created.user_id, api_key: expect.stringMatching(/^sk_/) });
    const listed = await cli(['keys', 'list', created.user_id], env);
    expect(JSON.parse(listed.stdout).keys.map((key: { id: string }) => key.id)).toEqual([created.key.id, newKey.id]);
    expect(listed.stdout).not.toContain(created.api_key);

    const revoked = await cli(['keys', 'revoke', created.key.id], env);
    expect(revoked).toMatchObject({ code: 0, stdout: `${JSON.stringify({ revoked: created.key.id })}\n` });
    expect((await socket.closed).code).toBe(CloseCode.Unauthorized);
    expect((await onB.request('GET', '/sessions')).status).toBe(401);
    expect((await new Api(fx.b.baseUrl, newKey.api_key).request('GET', '/sessions')).status).toBe(200);

    const again = await cli(['keys', 'revoke', created.key.id], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/key not found or already revoked/);
  });
});
