import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { createPostgresDatabase, type TestDatabase } from '../../test/helpers/database.js';
import { TestNatsServer } from '../../test/helpers/nats.js';
import { ServiceProcess } from '../../test/helpers/service.js';
import { viewOf, type View } from './follower.js';
import type { Session } from '../../src/protocol/protocol.js';

/**
 * The parts a scenario runs against: a throwaway Postgres database, optionally a
 * nats-server of its own, and service processes; `dispose()` leaves nothing behind.
 */
export class Stack {
  readonly services: ServiceProcess[] = [];
  private readonly cleanups: (() => Promise<void>)[] = [];
  private pool?: pg.Pool;
  apiKey = '';

  private constructor(readonly database: TestDatabase) {}

  static async create(): Promise<Stack> {
    return new Stack(await createPostgresDatabase());
  }

  async nats(): Promise<TestNatsServer> {
    const nats = await TestNatsServer.start();
    this.cleanups.push(() => nats.dispose());
    return nats;
  }

  onDispose(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  /** Starts a service; the first one (on an empty database) prints the admin key. */
  async start(env: Record<string, string>, port?: number): Promise<ServiceProcess> {
    const service = await ServiceProcess.start({ LOG_LEVEL: 'warn', ...this.database.env, ...env }, port);
    this.services.push(service);
    if (service.apiKey && !this.apiKey) this.apiKey = service.apiKey;
    return service;
  }

  /** Direct database access, past every proxy: the truth the suite compares clients with. */
  get db(): pg.Pool {
    this.pool ??= new pg.Pool({ connectionString: this.database.url, max: 4 });
    return this.pool;
  }

  /** A user of its own, through the CLI: `{user_id, api_key}`. */
  async createUser(name: string): Promise<{ user_id: string; api_key: string }> {
    const cli = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'users', 'create', name], { env: { ...process.env, ...this.database.env, NATS_URL: '', LOG_LEVEL: 'warn' } });
    return JSON.parse(stdout.trim().split('\n').pop()!) as { user_id: string; api_key: string };
  }

  async versions(ids: string[]): Promise<Map<string, number>> {
    const { rows } = await this.db.query<{ id: string; version: number }>('SELECT id, version FROM sessions WHERE id = ANY($1)', [ids]);
    return new Map(rows.map((row) => [row.id, Number(row.version)]));
  }

  async versionsIfReachable(ids: string[]): Promise<Map<string, number> | undefined> {
    return this.versions(ids).catch(() => undefined);
  }

  async views(ids: string[], api: { getSession(id: string): Promise<Session> }): Promise<Map<string, View>> {
    const views = new Map<string, View>();
    for (const id of ids) views.set(id, viewOf(await api.getSession(id)));
    return views;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.services.map((service) => service.stop('SIGKILL')));
    for (const cleanup of this.cleanups.reverse()) await cleanup().catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
    await this.database.drop().catch(() => undefined);
  }
}
