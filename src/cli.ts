import 'reflect-metadata';
import { HttpException, Logger } from '@nestjs/common';
import { createLog, NestPinoLogger } from './common/log.js';
import { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from './config/app-config.js';
import { resolveDataSourceOptions, withoutTimeouts } from './database/data-source-options.js';
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
  'usage: npm run --silent cli -- users create NAME',
  '       npm run --silent cli -- keys create USER_ID',
  '       npm run --silent cli -- keys list USER_ID',
  '       npm run --silent cli -- keys revoke KEY_ID',
].join('\n');

/** The CLI acts for whoever can reach the database: the admin's rights. */
const OPERATOR: Principal = { userId: '', keyId: '', isAdmin: true };

/**
 * stdout carries the command's one JSON line and nothing else: every log line, Nest's and
 * TypeORM's included, is a pino record on stderr. (`npm run` prints its own banner on stdout
 * unless given `--silent`.)
 */
// Quiet unless asked (LOG_LEVEL): a command's output is its JSON line.
const log = createLog(process.env.LOG_LEVEL?.trim() || 'warn', 2);
Logger.overrideLogger(new NestPinoLogger(log));

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
    log.error(USAGE);
    return 2;
  }
  // A bad name needs no database to be refused.
  if (args[0] === 'users') validateUserName(args[2]);
  const config = loadConfig();
  const embedded = new EmbeddedDatabase();
  const dataSource = new DataSource(withoutTimeouts(await resolveDataSourceOptions(config, embedded)));
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
      log.error(`error: ${error.message} While the service runs, manage users and keys through its REST API instead: POST /api/v1/users, POST /api/v1/users/USER_ID/keys, DELETE /api/v1/keys/KEY_ID with the admin's key (see README, "Users and keys").`);
    } else if (error instanceof HttpException) {
      log.error(`error: ${error.message}`);
    } else {
      const known = error instanceof ConfigError || error instanceof RangeError || error instanceof NatsUnavailableError;
      if (known) log.error(`error: ${(error as Error).message}`);
      else log.error({ err: error }, 'failed');
    }
    process.exit(1);
  },
);
