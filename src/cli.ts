import 'reflect-metadata';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from './config/app-config.js';
import { resolveDataSourceOptions, withoutTimeouts } from './database/data-source-options.js';
import { EmbeddedDatabase, EmbeddedDatabaseBusyError } from './database/embedded-database.js';
import { runMigrations } from './database/migrate.js';
import { UsersRepository } from './users/users.repository.js';
import { UsersService } from './users/users.service.js';

const USAGE = 'usage: npm run cli -- users create NAME';

/** stdout carries the command's one JSON line and nothing else: every log line goes to stderr. */
class StderrLogger extends ConsoleLogger {
  protected override printMessages(...args: Parameters<ConsoleLogger['printMessages']>): void {
    const [messages, context, logLevel, , errorStack, params] = args;
    super.printMessages(messages, context, logLevel, 'stderr', errorStack, params);
  }
}
Logger.overrideLogger(new StderrLogger('cli', { logLevels: ['error', 'warn', 'log'] }));

/** `users create NAME`: prints {"user_id","api_key"} as one JSON line. Same env vars as the service. */
async function main(args: string[]): Promise<number> {
  if (args[0] !== 'users' || args[1] !== 'create' || args.length !== 3) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig();
  const embedded = new EmbeddedDatabase();
  const dataSource = new DataSource(withoutTimeouts(await resolveDataSourceOptions(config, embedded)));
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
    console.error(known ? `error: ${(error as Error).message}` : error);
    process.exit(1);
  },
);
