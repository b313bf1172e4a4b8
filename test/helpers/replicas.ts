import { afterAll, beforeAll } from '@jest/globals';
import type { Api } from './api.js';
import { createPostgresDatabase, type TestDatabase } from './database.js';
import { TestNatsServer } from './nats.js';
import { ServiceProcess } from './service.js';

/**
 * Service processes that are replicas of each other: one Postgres database and one
 * nats-server of their own, whatever the mode of the run.
 */
export class Replicas {
  readonly processes: ServiceProcess[] = [];

  private constructor(
    readonly database: TestDatabase,
    readonly nats: TestNatsServer,
    readonly env: Record<string, string>,
  ) {}

  /** `count` replicas on `env`; `own[i]`, when given, is added to replica i's. */
  static async start(count: number, env: Record<string, string> = {}, own: Record<string, string>[] = []): Promise<Replicas> {
    const database = await createPostgresDatabase();
    const nats = await TestNatsServer.start();
    const replicas = new Replicas(database, nats, { LOG_LEVEL: 'warn', ...database.env, NATS_URL: nats.url, ...env });
    try {
      // One after the other: the first creates the schema and prints the admin key.
      for (let i = 0; i < count; i++) await replicas.add(undefined, own[i]);
    } catch (error) {
      await replicas.dispose();
      throw error;
    }
    return replicas;
  }

  /** The key the first replica printed for the `admin` user. */
  get apiKey(): string {
    const key = this.processes.find((process) => process.apiKey)?.apiKey;
    if (!key) throw new Error('no replica printed an api_key line');
    return key;
  }

  /** Starts one more replica (on `port` when given, as a restart on the same address), with `own` settings added. */
  async add(port?: number, own: Record<string, string> = {}): Promise<ServiceProcess> {
    const process = await ServiceProcess.start({ ...this.env, ...own }, port);
    this.processes.push(process);
    return process;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.processes.map((process) => process.stop('SIGKILL')));
    await this.nats.dispose();
    await this.database.drop();
  }
}

export interface ReplicasFixture {
  replicas: Replicas;
  a: ServiceProcess;
  b: ServiceProcess;
  /** The admin key through A and through B. */
  viaA: Api;
  viaB: Api;
}

/**
 * Registers the usual hooks of a spec on two replicas: started before the file's tests,
 * stopped after them. Read the fields inside tests (they exist from then); a spec that
 * restarts a replica puts the new process in its place.
 */
export function useReplicas(env: Record<string, string> = {}, own: { a?: Record<string, string>; b?: Record<string, string> } = {}): ReplicasFixture {
  const fixture = {} as ReplicasFixture;
  beforeAll(async () => {
    fixture.replicas = await Replicas.start(2, env, [own.a ?? {}, own.b ?? {}]);
    [fixture.a, fixture.b] = fixture.replicas.processes;
    fixture.viaA = fixture.a.api(fixture.replicas.apiKey);
    fixture.viaB = fixture.b.api(fixture.replicas.apiKey);
  });
  afterAll(() => fixture.replicas?.dispose());
  return fixture;
}
