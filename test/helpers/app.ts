import { afterAll, beforeAll } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createApp } from '../../src/app.factory.js';
import { loadConfig, type AppConfig } from '../../src/config/app-config.js';
import { Metrics } from '../../src/common/metrics.js';
import { StatementCounter } from '../../src/database/statement-counter.js';
import { UsersService } from '../../src/users/users.service.js';
import { Api } from './api.js';
import { createTestDatabase, type TestDatabase } from './database.js';

/**
 * The application built exactly as main.ts builds it, in this process, on a database of its
 * own (the run's mode: Postgres or embedded) and on NATS when NATS_URL is set.
 */
export class TestApp {
  private constructor(
    readonly app: INestApplication,
    readonly config: AppConfig,
    readonly baseUrl: string,
    /** Key of the `admin` user the first start created (read from what it printed). */
    readonly adminKey: string,
    private readonly database: TestDatabase | undefined,
  ) {}

  static async start(env: Record<string, string> = {}, database?: TestDatabase): Promise<TestApp> {
    const db = database ?? (await createTestDatabase());
    const config = loadConfig({
      // Quiet unless asked: a test's failure message says what went wrong; TEST_LOG_LEVEL
      // shows the application's own lines when that is not enough.
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      // In-process specs count statements and snapshots exactly: no background reads unless
      // a spec asks (the crash-window check is exercised by `npm run chaos`).
      FAST_VERSION_CHECK_MS: '0',
      ...(process.env.NATS_URL ? { NATS_URL: process.env.NATS_URL } : {}),
      ...db.env,
      ...env,
      PORT: '0',
      HOST: '127.0.0.1',
    });
    const printed = captureStdout();
    let app: INestApplication;
    try {
      app = await createApp(config);
      await app.listen(0, '127.0.0.1');
    } finally {
      printed.restore();
    }
    const adminKey = /^api_key: (\S+)$/m.exec(printed.text)?.[1];
    if (!adminKey) throw new Error(`the first start printed no "api_key:" line: ${printed.text}`);
    const { port } = app.getHttpServer().address() as { port: number };
    return new TestApp(app, config, `http://127.0.0.1:${port}`, adminKey, database ? undefined : db);
  }

  get wsBase(): string {
    return this.baseUrl.replace(/^http/, 'ws');
  }

  get statements(): StatementCounter {
    return this.app.get(StatementCounter);
  }

  get metrics(): Metrics {
    return this.app.get(Metrics);
  }

  get<T>(token: abstract new (...args: never[]) => T): T {
    return this.app.get(token as never);
  }

  /** A REST client for a new user. */
  async newUser(name = 'someone'): Promise<Api & { userId: string }> {
    const user = await this.app.get(UsersService).create(name);
    return Object.assign(new Api(this.baseUrl, user.api_key), { userId: user.user_id });
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.database?.drop();
  }
}

function captureStdout(): { text: string; restore(): void } {
  const original = process.stdout.write.bind(process.stdout);
  const captured = { text: '', restore: () => void (process.stdout.write = original) };
  process.stdout.write = ((chunk: string | Uint8Array) => {
    captured.text += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  return captured;
}

export interface AppFixture {
  readonly app: TestApp;
  readonly user: Api & { userId: string };
}

/**
 * Registers the usual hooks of a spec that needs one app and one user: started before the
 * file's tests, closed after them. Read `app` and `user` inside tests (they exist from then).
 */
export function useTestApp(userName: string, env: Record<string, string> = {}): AppFixture {
  const fixture = {} as { app: TestApp; user: Api & { userId: string } };
  beforeAll(async () => {
    fixture.app = await TestApp.start(env);
    fixture.user = await fixture.app.newUser(userName);
  });
  afterAll(() => fixture.app?.close());
  return fixture;
}
