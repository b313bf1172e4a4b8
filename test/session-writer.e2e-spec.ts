import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SessionWriter, type RetryInfo } from '../src/writer/session-writer.js';
import { createPostgresDatabase, type TestDatabase } from './helpers/database.js';
import { sleep } from './helpers/ports.js';
import { ServiceProcess } from './helpers/service.js';

/**
 * The writer library against the real service process on PostgreSQL, killed with SIGKILL in
 * the middle of a stream and started again: the response must end exactly as written, every
 * chunk once, in order, with its multi-byte characters intact.
 */

const chunk = (n: number) => `${n}:é✓👋${n % 17 === 16 ? '\n' : ' '}`;

describe('the writer library through a SIGKILL restart of the service', () => {
  let database: TestDatabase;
  let service: ServiceProcess;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    service = await ServiceProcess.start({ ...database.env, LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    await service?.stop('SIGKILL');
    await database?.drop();
  });

  it('streams 1,000 chunks, survives the kill, and the database holds exactly the text', async () => {
    const api = service.api();
    const session = await api.createSession('writer through a restart');
    const retries: RetryInfo[] = [];
    const writer = new SessionWriter({
      baseUrl: service.baseUrl,
      apiKey: api.key,
      minRetryDelayMs: 20,
      maxRetryDelayMs: 200,
      requestTimeoutMs: 5_000,
      onRetry: (info) => retries.push(info),
    });
    const reply = await writer.createInteraction(session.id, 'Stream through a restart, please.');
    let expected = '';
    let restarted: Promise<ServiceProcess> | undefined;
    for (let n = 0; n < 1000; n++) {
      reply.write(chunk(n));
      expected += chunk(n);
      if (n === 400) {
        // Killed while the writer streams: a request may be in flight, answered or not.
        const exit = await service.stop('SIGKILL');
        expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
      }
      // Writes while the service is down queue up; it comes back a little later.
      if (n === 600) restarted = service.restart();
      await sleep(n % 10 === 0 ? 2 : 0);
    }
    service = await restarted!;
    await reply.complete();

    // Same port and database: the first process's key and client still apply.
    const stored = (await api.getSession(session.id)).interactions;
    expect(stored).toHaveLength(1);
    expect(stored[0].state).toBe('complete');
    expect(stored[0].response_message.length).toBe(expected.length);
    expect(stored[0].response_message === expected).toBe(true);
    expect(reply.committedBytes).toBe(Buffer.byteLength(expected));
    // The restart really met the writer: it was refused at least once and carried on.
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.some((r) => /ECONNREFUSED|ECONNRESET|other side closed|fetch failed|no answer/.test(r.reason))).toBe(true);
  });
});
