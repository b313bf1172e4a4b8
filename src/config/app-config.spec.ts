import { describe, expect, it } from '@jest/globals';
import { RateLimiter } from '../auth/rate-limiter.js';
import { ConfigError, loadConfig } from './app-config.js';

describe('loadConfig', () => {
  it('has the protocol defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      databaseUrl: undefined,
      natsServers: undefined,
      bodyLimit: 1024 * 1024,
      responseMaxBytes: 1024 * 1024,
      shutdownTimeoutMs: 10_000,
      sessionLookupTimeoutMs: 2000,
      wsMaxPayload: 64 * 1024,
      wsPingIntervalMs: 25_000,
      wsPongTimeoutMs: 10_000,
    });
    expect(config.dataDir).toMatch(/\/data$/);
  });

  it('keeps channels lingering 30 s by default, bounded in count and bytes', () => {
    expect(loadConfig({})).toMatchObject({ channelLingerMs: 30_000, channelLingerMax: 10_000, channelLingerMaxBytes: 64 * 1024 * 1024 });
    expect(loadConfig({ CHANNEL_LINGER_MS: '0', CHANNEL_LINGER_MAX: '5', CHANNEL_LINGER_MAX_BYTES: '1mb' })).toMatchObject({
      channelLingerMs: 0,
      channelLingerMax: 5,
      channelLingerMaxBytes: 1024 * 1024,
    });
  });

  it('prepares the hot statements unless DATABASE_PREPARED_STATEMENTS is false', () => {
    expect(loadConfig({}).databasePreparedStatements).toBe(true);
    expect(loadConfig({ DATABASE_PREPARED_STATEMENTS: 'false' }).databasePreparedStatements).toBe(false);
    expect(loadConfig({ DATABASE_PREPARED_STATEMENTS: '0' }).databasePreparedStatements).toBe(false);
    expect(loadConfig({ DATABASE_PREPARED_STATEMENTS: 'TRUE' }).databasePreparedStatements).toBe(true);
  });

  it('subscribes per owner by default, per session when asked', () => {
    expect(loadConfig({}).busSubscriptionScope).toBe('owner');
    expect(loadConfig({ BUS_SUBSCRIPTION_SCOPE: 'session' }).busSubscriptionScope).toBe('session');
    expect(() => loadConfig({ BUS_SUBSCRIPTION_SCOPE: 'Session' })).toThrow('BUS_SUBSCRIPTION_SCOPE must be one of owner, session, got "Session"');
  });

  it('reads sizes with units and a NATS cluster list', () => {
    const config = loadConfig({ BODY_LIMIT: '2mb', WS_MAX_PAYLOAD: '16kb', NATS_URL: 'nats://a:4222, nats://b:4222' });
    expect(config.bodyLimit).toBe(2 * 1024 * 1024);
    expect(config.wsMaxPayload).toBe(16 * 1024);
    expect(loadConfig({ RESPONSE_MAX_BYTES: '100kb' }).responseMaxBytes).toBe(100 * 1024);
    expect(config.natsServers).toEqual(['nats://a:4222', 'nats://b:4222']);
  });

  it.each([
    ['PORT', '70000'],
    ['SHUTDOWN_TIMEOUT_MS', '1.5'],
    ['DATABASE_URL', 'not a url'],
    ['NATS_URL', 'nats://a:4222,,nats://b'],
    ['BODY_LIMIT', '10 parsecs'],
    ['RESPONSE_MAX_BYTES', '0'],
    ['RESPONSE_MAX_BYTES', '2048mb'],
    ['ALLOWED_ORIGINS', 'https://a.example.com/path'],
    ['ALLOWED_ORIGINS', 'https://a.example.com,,https://b.example.com'],
    ['RATE_LIMIT_PER_SECOND', '-1'],
    ['RATE_LIMIT_BURST', '0'],
    ['METRICS_TOKEN', 'short'],
    ['CHANNEL_LINGER_MS', '-1'],
    ['CHANNEL_LINGER_MAX', 'many'],
    ['CHANNEL_LINGER_MAX_BYTES', '0'],
    ['BUS_SUBSCRIPTION_SCOPE', 'channel'],
    ['DATABASE_PREPARED_STATEMENTS', 'no'],
    ['LOG_LEVEL', 'verbose'],
  ])('refuses %s=%s with an error naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name} `));
  });

  it('normalizes ALLOWED_ORIGINS: lowercase, default ports omitted', () => {
    expect(loadConfig({ ALLOWED_ORIGINS: 'HTTPS://App.Example.com:443, http://localhost:5173' }).allowedOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
    expect(loadConfig({}).allowedOrigins).toBeUndefined();
  });

  it('has rate limits high enough for streaming agents, and no metrics token', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ rateLimitPerSecond: 10_000, rateLimitBurst: 20_000, metricsToken: undefined });
    // One key streaming 5,000 requests a second for ten seconds is never refused...
    let now = 0;
    const limiter = new RateLimiter(config.rateLimitPerSecond, config.rateLimitBurst, () => now);
    let refused = 0;
    for (let i = 0; i < 50_000; i++, now += 0.2) if (limiter.take('agent')) refused++;
    expect(refused).toBe(0);
    // ...while a runaway one sending 40,000 at once is stopped past the burst.
    for (let i = 0; i < 40_000; i++) if (limiter.take('runaway')) refused++;
    expect(refused).toBe(20_000);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: ' ' })).toMatchObject({ databaseUrl: undefined, port: 8080 });
  });
});
