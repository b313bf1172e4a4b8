import 'reflect-metadata';
import { ConsoleLogger, HttpException, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from './config/app-config.js';
import { resolveDataSourceOptions } from './database/data-source-options.js';
import { EmbeddedDatabase, EmbeddedDatabaseBusyError } from './database/embedded-database.js';
import { runMigrations } from './database/migrate.js';
import { UsersRepository } from './users/users.repository.js';
import { UsersService, validateUserName } from './users/users.service.js';
import { KeysService } from './users/keys.service.js';
import { KeyRevocations } from './auth/key-revocations.js';
import type { Principal } from './auth/principal.js';
import { MemoryBus } from './events/memory-bus.js';
import { NatsBus, NatsUnavailableError } from './events/nats-bus.js';

const USAGE = [
  'usage: npm run cli -- users create NAME',
  '       npm run cli -- keys create USER_ID',
  '       npm run cli -- keys list USER_ID',
  '       npm run cli -- keys revoke KEY_ID',
].join('\n');

/** The CLI acts for whoever can reach the database: the admin's rights. */
const OPERATOR: Principal = { userId: '', keyId: '', isAdmin: true };

/** stdout carries the command's one JSON line and nothing else: every log line goes to stderr. */
class StderrLogger extends ConsoleLogger {
  protected override printMessages(...args: Parameters<ConsoleLogger['printMessages']>): void {
    const [messages, context, logLevel, , errorStack, params] = args;
    super.printMessages(messages, context, logLevel, 'stderr', errorStack, params);
  }
}
Logger.overrideLogger(new StderrLogger('cli', { logLevels: ['error', 'warn', 'log'] }));

type Command = (users: UsersService, keys: KeysService, arg: string) => Promise<unknown>;

/** Each prints one JSON line; the same env vars as the service. */
const COMMANDS: Record<string, Command> = {
  'users create': async (users, _keys, name) => {
    const { user_id, api_key } = await users.create(name);
    return { user_id, api_key };
  },
  'keys create': (_users, keys, userId) => keys.create(OPERATOR, userId),
  'keys list': async (_users, keys, userId) => ({ keys: await keys.list(OPERATOR, userId) }),
  'keys revoke': async (_users, keys, keyId) => {
    await keys.revoke(OPERATOR, keyId);
    return { revoked: keyId };
  },
};

async function main(args: string[]): Promise<number> {
  const command = COMMANDS[`${args[0]} ${args[1]}`];
  if (!command || args.length !== 3) {
    console.error(USAGE);
    return 2;
  }
  // A bad name needs no database to be refused.
  if (args[0] === 'users') validateUserName(args[2]);
  const config = loadConfig();
  const embedded = new EmbeddedDatabase();
  const dataSource = new DataSource(await resolveDataSourceOptions(config, embedded));
  // Replicas learn of a revocation over NATS at once; without it, within AUTH_CACHE_TTL_MS.
  const bus = config.natsServers ? await NatsBus.connect(config.natsServers, `session-sync-cli:${process.pid}`) : new MemoryBus();
  try {
    await dataSource.initialize();
    await runMigrations(dataSource, Boolean(config.databaseUrl));
    const repository = new UsersRepository(dataSource);
    const result = await command(new UsersService(repository), new KeysService(repository, new KeyRevocations(bus)), args[2]);
    console.log(JSON.stringify(result));
    return 0;
  } finally {
    await bus.close();
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof EmbeddedDatabaseBusyError) {
      console.error(`error: ${error.message} While the service runs, manage users and keys through its REST API instead: POST /api/v1/users, POST /api/v1/users/USER_ID/keys, DELETE /api/v1/keys/KEY_ID with the admin's key (see README, "Users and keys").`);
    } else if (error instanceof HttpException) {
      console.error(`error: ${error.message}`);
    } else {
      const known = error instanceof ConfigError || error instanceof RangeError || error instanceof NatsUnavailableError;
      console.error(known ? `error: ${(error as Error).message}` : error);
    }
    process.exit(1);
  },
);
