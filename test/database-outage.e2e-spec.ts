import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Api } from './helpers/api.js';
import { TestApp } from './helpers/app.js';
import { createPostgresDatabase, type TestDatabase } from './helpers/database.js';
import { FaultProxy } from './helpers/fault-proxy.js';

const DATABASE_TIMEOUT_MS = 1000;

/**
 * A database that does not answer (black-holed) or refuses connections is a reason to tell
 * REST clients "retry later": a JSON 503 with Retry-After within the statement and acquire
 * bounds (DATABASE_TIMEOUT_MS), never a hang and never a 500, and 200s again once it is back.
 */
describe('REST calls while the database is unavailable', () => {
  let database: TestDatabase;
  let proxy: FaultProxy;
  let app: TestApp;
  let alice: Api;
  let sessionId: string;
  let interactionId: string;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    proxy = await FaultProxy.inFrontOf(database.url!);
    const proxied = proxy.through(database.url!);
    app = await TestApp.start(
      { DATABASE_TIMEOUT_MS: String(DATABASE_TIMEOUT_MS), VERSION_CHECK_INTERVAL_MS: '0', FAST_VERSION_CHECK_MS: '0' },
      { url: proxied, env: { DATABASE_URL: proxied }, drop: async () => undefined },
    );
    alice = await app.newUser('alice');
    const session = await alice.createSession('outage');
    sessionId = session.id;
    interactionId = (await alice.addInteraction(session.id, 'p')).id;
  });
  afterAll(async () => {
    await proxy?.set('pass');
    await app?.close();
    await proxy?.close();
    await database?.drop();
  });

  const calls = (): [string, string, unknown?][] => [
    ['GET', '/sessions'],
    ['GET', `/sessions/${sessionId}`],
    ['POST', '/sessions', { name: 'x' }],
    ['PATCH', `/sessions/${sessionId}`, { name: 'y' }],
    ['DELETE', `/sessions/${sessionId}`],
    ['POST', `/sessions/${sessionId}/interactions`, { prompt_message: 'x' }],
    ['PATCH', `/sessions/${sessionId}/interactions/${interactionId}`, { append: 'x' }],
  ];

  async function expectAllRetryable(): Promise<void> {
    for (const [method, path, body] of calls()) {
      const response = await fetch(`${app.baseUrl}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${alice.key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        // Far above the bound (2 × DATABASE_TIMEOUT_MS): only a hang reaches it.
        signal: AbortSignal.timeout(30_000),
      });
      expect([method, path, response.status]).toEqual([method, path, 503]);
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await response.json()).toEqual({ statusCode: 503, error: 'Service Unavailable', message: expect.stringMatching(/database/) });
    }
  }

  it.each(['blackhole', 'refuse'] as const)('answers every call with a JSON 503 + Retry-After while it is %s, then serves again', async (mode) => {
    await proxy.set(mode);
    try {
      await expectAllRetryable();
      expect((await fetch(`${app.baseUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${app.baseUrl}/readyz`)).status).toBe(503);
    } finally {
      await proxy.set('pass');
    }
    let status = 0;
    for (let attempt = 0; attempt < 300 && status !== 200; attempt++) {
      status = (await alice.request('GET', `/sessions/${sessionId}`)).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
  });
});
