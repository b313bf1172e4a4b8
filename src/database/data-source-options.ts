import type { DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { ApiKeyEntity } from '../users/api-key.entity.js';
import { UserEntity } from '../users/user.entity.js';
import { InteractionEntity } from '../sessions/interaction.entity.js';
import { SessionEntity } from '../sessions/session.entity.js';
import { InitialSchema1764000000000 } from './migrations/1764000000000-initial-schema.js';
import { InteractionVersion1764500000000 } from './migrations/1764500000000-interaction-version.js';
import { AdminAndKeyRevocation1764600000000 } from './migrations/1764600000000-admin-and-key-revocation.js';
import { EmbeddedDatabase } from './embedded-database.js';
import { StatementCounter } from './statement-counter.js';

export const ENTITIES = [UserEntity, ApiKeyEntity, SessionEntity, InteractionEntity];
export const MIGRATIONS = [InitialSchema1764000000000, InteractionVersion1764500000000, AdminAndKeyRevocation1764600000000];

/**
 * The one description of the database, shared by the service, the CLI and ormconfig.ts.
 * Without DATABASE_URL it opens the embedded database first and points at it.
 */
export async function resolveDataSourceOptions(
  config: AppConfig,
  embedded: EmbeddedDatabase,
  logger: StatementCounter = new StatementCounter(),
): Promise<DataSourceOptions> {
  const target = config.databaseUrl
    ? { url: config.databaseUrl, poolSize: config.databasePoolSize }
    : { ...(await embedded.open(config.dataDir)), username: 'postgres', database: 'postgres', poolSize: 1 };
  return {
    type: 'postgres',
    ...target,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsRun: false,
    synchronize: false,
    logger,
    maxQueryExecutionTime: 1000,
    extra: {
      max: target.poolSize,
      keepAlive: true,
      // The bound on every database wait, so that a database that refuses, restarts or goes
      // silent (a black-holed network path: connections open, nothing answers) costs a
      // request DATABASE_TIMEOUT_MS per statement, then a 503, never a hang:
      // - waiting for a pooled connection or opening one;
      connectionTimeoutMillis: config.databaseTimeoutMs,
      // - a statement the server runs too long (it cancels it: SQLSTATE 57014);
      statement_timeout: config.databaseTimeoutMs,
      // - and client-side, a statement whose answer never comes (the server cannot help there).
      query_timeout: config.databaseTimeoutMs,
    },
  };
}

/**
 * The same database without the per-statement bounds, for migrations: a backfill may
 * rightly run for minutes, and a replica waits on the migration lock while another migrates.
 */
export function withoutTimeouts(options: DataSourceOptions): DataSourceOptions {
  const extra = { ...(options.extra as Record<string, unknown>), statement_timeout: 0, query_timeout: undefined };
  return { ...options, extra } as DataSourceOptions;
}
