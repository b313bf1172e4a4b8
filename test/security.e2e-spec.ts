import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../src/config/app-config.js';
import { Api } from './helpers/api.js';
import { TestApp, useTestApp } from './helpers/app.js';
import { createPostgresDatabase, type TestDatabase } from './helpers/database.js';
import { ServiceProcess } from './helpers/service.js';

describe('rate limits', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await TestApp.start({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '3', RATE_LIMIT_IP_PER_SECOND: '1', RATE_LIMIT_IP_BURST: '2' });
  });
  afterAll(() => app?.close());

  it('answers 429 JSON with Retry-After once a key has spent its burst, per key', async () => {
    const user = await app.newUser('hasty');
    const other = await app.newUser('calm');
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${app.baseUrl}/api/v1/sessions`, { headers: { authorization: `Bearer ${user.key}` } });
      statuses.push(response.status);
      if (response.status === 429) limited ??= response;
      else await response.text();
    }
    // At 1 per second a few more may have refilled on a slow machine; the burst itself always passes.
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses).toContain(429);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await limited!.json()).toEqual({ statusCode: 429, error: 'Too Many Requests', message: expect.stringMatching(/rate limit/) });
    expect((await other.request('GET', '/sessions')).status).toBe(200);
  });

  it('limits requests without a valid key per client address', async () => {
    const anonymous = new Api(app.baseUrl, 'sk_000000000000_' + 'A'.repeat(43));
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await anonymous.request('GET', '/sessions')).status);
    expect(statuses.slice(0, 2)).toEqual([401, 401]);
    expect(statuses).toContain(429);
  });
});

describe('defaults', () => {
  const fx = useTestApp('default user');

  it('offers the validated configuration through @nestjs/config too', () => {
    const config = fx.app.get(ConfigService<AppConfig, true>);
    expect(config.get('rateLimitPerSecond', { infer: true })).toBe(10_000);
    expect(config.get('allowedOrigins', { infer: true })).toBeUndefined();
    expect(config.get('port', { infer: true })).toBe(fx.app.config.port);
  });

  it('does not throttle one key streaming appends at the default limits', async () => {
    // Five sessions, so that the row lock of one does not serialize the whole stream.
    const targets = await Promise.all(
      Array.from({ length: 5 }, async (_, n) => {
        const session = await fx.user.createSession(`stream ${n}`);
        return { session, interaction: await fx.user.addInteraction(session.id, 'go') };
      }),
    );
    const statuses = new Map<number, number>();
    for (let round = 0; round < 5; round++) {
      const replies = await Promise.all(
        targets.flatMap(({ session, interaction }) =>
          Array.from({ length: 20 }, () => fx.user.request('PATCH', `/sessions/${session.id}/interactions/${interaction.id}`, { append: 'x' })),
        ),
      );
      for (const reply of replies) statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
    }
    expect([...statuses]).toEqual([[200, 500]]);
  });

  it('sends the standard security headers on the API, the health checks and the docs', async () => {
    for (const path of ['/api/v1/sessions', '/healthz', '/api/docs', '/api/docs.json']) {
      const response = await fetch(`${fx.app.baseUrl}${path}`, { headers: { authorization: `Bearer ${fx.user.key}` } });
      await response.text();
      expect([path, response.headers.get('x-content-type-options')]).toEqual([path, 'nosniff']);
      expect(response.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-powered-by')).toBeNull();
      // Inline styles only where the Swagger UI needs them.
      expect([path, /style-src 'self' 'unsafe-inline'/.test(response.headers.get('content-security-policy')!)]).toEqual([path, path.startsWith('/api/docs')]);
    }
  });

  it('serves Prometheus text at /metrics, and the JSON figures to a client that asks for JSON', async () => {
    const text = await fetch(`${fx.app.baseUrl}/metrics`);
    expect(text.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await text.text();
    for (const name of [
      'session_sync_ws_connections',
      'session_sync_bus_subscriptions',
      'session_sync_snapshot_reads_total',
      'session_sync_snapshot_read_seconds_bucket',
      'session_sync_commit_to_publish_seconds_count',
      'session_sync_publish_to_socket_seconds_count',
      'session_sync_resyncs_total',
      'session_sync_bus_connected 1',
      'session_sync_db_pool_connections{state="total"}',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect([name, body.includes(name)]).toEqual([name, true]);
    }
    // The appends of the test above were published: commit-to-publish was observed.
    expect(Number(/^session_sync_commit_to_publish_seconds_count (\d+)$/m.exec(body)?.[1])).toBeGreaterThanOrEqual(500);
    const json = await fetch(`${fx.app.baseUrl}/metrics`, { headers: { accept: 'application/json' } });
    expect(await json.json()).toMatchObject({ snapshot_queries: expect.any(Number), ws_connections: 0, bus_subscriptions: 0, resyncs: expect.any(Number), sql_statements: expect.any(Number) });
  });
});

describe('METRICS_TOKEN', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await TestApp.start({ METRICS_TOKEN: 'scrape-me-0123456789' });
  });
  afterAll(() => app?.close());

  it('makes /metrics require the token, in both formats', async () => {
    expect((await fetch(`${app.baseUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${app.baseUrl}/metrics`, { headers: { authorization: `Bearer ${app.adminKey}` } })).status).toBe(401);
    const ok = await fetch(`${app.baseUrl}/metrics`, { headers: { authorization: 'Bearer scrape-me-0123456789' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/session_sync_ws_connections/);
    expect((await fetch(`${app.baseUrl}/metrics`, { headers: { authorization: 'Bearer scrape-me-0123456789', accept: 'application/json' } })).status).toBe(200);
  });
});

describe('logs', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  beforeAll(async () => {
    database = await createPostgresDatabase();
    // Every request is logged at debug.
    service = await ServiceProcess.start({ ...database.env, NATS_URL: '', LOG_LEVEL: 'debug' });
  });
  afterAll(async () => {
    await service?.stop('SIGTERM');
    await database?.drop();
  });

  it('never contain a key, from the header, the query (however escaped) or the cookie', async () => {
    const key = service.apiKey!;
    const base = `${service.baseUrl}/api/v1/sessions`;
    await (await fetch(base, { headers: { authorization: `Bearer ${key}` } })).text();
    await (await fetch(`${base}?access_token=${encodeURIComponent(key)}`)).text();
    await (await fetch(`${base}?access%5Ftoken=${encodeURIComponent(key)}`)).text();
    await (await fetch(base, { headers: { cookie: `access_token=${encodeURIComponent(key)}` } })).text();
    await (await fetch(`${base}?access_token=${encodeURIComponent(key)}x`)).text();
    await (await fetch(`${service.baseUrl}/healthz?marker=done`)).text();
    const deadline = Date.now() + 10_000;
    while (!service.output.some((line) => line.includes('marker=done')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const log = service.output.join('\n');
    expect(log).toContain('marker=done');
    expect(log).toContain('access_token=[redacted]');
    expect(log.split(key).length - 1).toBe(1); // only the first-start line `api_key: KEY`
    expect(log).toContain(`api_key: ${key}`);
  });
});
