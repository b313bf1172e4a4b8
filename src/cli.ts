import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createLog, NestPinoLogger } from './common/log.js';
import { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from './config/app-config.js';
import { resolveDataSourceOptions } from './database/data-source-options.js';
import { EmbeddedDatabase, EmbeddedDatabaseBusyError } from './database/embedded-database.js';
import { runMigrations } from './database/migrate.js';
import { UsersRepository } from './users/users.repository.js';
import { UsersService } from './users/users.service.js';

const USAGE = 'usage: npm run --silent cli -- users create NAME';

/**
 * stdout carries the command's one JSON line and nothing else: every log line, Nest's and
 * TypeORM's included, is a pino record on stderr. (`npm run` prints its own banner on stdout
 * unless given `--silent`.)
 */
// Quiet unless asked (LOG_LEVEL): a command's output is its JSON line.
const log = createLog(process.env.LOG_LEVEL?.trim() || 'warn', 2);
Logger.overrideLogger(new NestPinoLogger(log));

/** `users create NAME`: prints {"user_id","api_key"} as one JSON line. Same env vars as the service. */
async function main(args: string[]): Promise<number> {
  if (args[0] !== 'users' || args[1] !== 'create' || args.length !== 3) {
    log.error(USAGE);
    return 2;
  }
  const config = loadConfig();
  const embedded = new EmbeddedDatabase();
  const dataSource = new DataSource(await resolveDataSourceOptions(config, embedded));
  try {
    await dataSource.initialize();
    await runMigrations(dataSource, Boolean(config.databaseUrl));
    const user = await new UsersService(new UsersRepository(dataSource)).create(args[2]);
    console.log(JSON.stringify(user));
    return 0;
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const known = error instanceof ConfigError || error instanceof EmbeddedDatabaseBusyError || error instanceof RangeError;
    if (known) log.error(`error: ${(error as Error).message}`);
    else log.error({ err: error }, 'failed');
    process.exit(1);
  },
);
