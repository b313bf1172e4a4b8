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
      // A pool that cannot get a connection must fail, not hang, so that requests and
      // WebSocket lookups answer with an error in bounded time.
      connectionTimeoutMillis: 5000,
      statement_timeout: 30_000,
      // Client-side too: a connection whose server went silent (a dead network path) would
      // otherwise leave its query, and whoever waits for it, hanging for good.
      query_timeout: 35_000,
    },
  };
}
