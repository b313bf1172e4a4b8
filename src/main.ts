import 'reflect-metadata';
import { createApp } from './app.factory.js';
import { ConfigError, loadConfig } from './config/app-config.js';
import { EmbeddedDatabaseBusyError } from './database/embedded-database.js';
import { NatsUnavailableError } from './events/nats-bus.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  const address = app.getHttpServer().address();
  console.info(JSON.stringify({ level: 30, time: Date.now(), msg: 'listening', port: typeof address === 'object' ? address?.port : config.port, host: config.host, database: config.databaseUrl ? 'postgres' : 'embedded', bus: config.natsServers ? 'nats' : 'memory' }));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Clients get 1012 and reconnect to another replica or to the next process; whatever
    // happens, the process is gone within SHUTDOWN_TIMEOUT_MS.
    setTimeout(() => {
      console.error(JSON.stringify({ level: 40, time: Date.now(), msg: `shutdown did not finish within ${config.shutdownTimeoutMs} ms; exiting` }));
      process.exit(0);
    }, config.shutdownTimeoutMs).unref();
    console.info(JSON.stringify({ level: 30, time: Date.now(), msg: `${signal}: shutting down` }));
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(JSON.stringify({ level: 50, time: Date.now(), msg: 'shutdown failed', err: String(error) }));
        process.exit(0);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  const known = error instanceof ConfigError || error instanceof EmbeddedDatabaseBusyError || error instanceof NatsUnavailableError;
  console.error(known ? `error: ${(error as Error).message}` : error);
  process.exit(1);
});
