import { describe, expect, it } from '@jest/globals';
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

  it('shares snapshot reads longer on the in-process bus, which cannot lose an event', () => {
    expect(loadConfig({}).snapshotShareMs).toBe(30_000);
    expect(loadConfig({ NATS_URL: 'nats://a:4222' }).snapshotShareMs).toBe(2000);
    expect(loadConfig({ NATS_URL: 'nats://a:4222', SNAPSHOT_SHARE_MS: '0' }).snapshotShareMs).toBe(0);
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
  ])('refuses %s=%s with an error naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name} `));
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: ' ' })).toMatchObject({ databaseUrl: undefined, port: 8080 });
  });
});
