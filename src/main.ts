// The service's entry point. Its static imports are only Node built-ins, pino and the config,
// so the port opens as soon as Node itself has started; the application (NestJS, TypeORM,
// NATS: most of the start-up time is loading them) is imported after that.
import { enableCompileCache, flushCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createLog, type Pino } from './common/log.js';
import { StartGate } from './common/start-gate.js';
import { loadConfig } from './config/app-config.js';

// V8's compiled code for the application, kept in dist/.compile-cache (next to the build, and
// gone with it) and written once the service is ready: the next start loads the application
// in about half the time. Entries are checked against the source, so a rebuilt bundle is just
// compiled again. Node's NODE_DISABLE_COMPILE_CACHE=1 turns it off; a folder that cannot be
// written only means no cache.
const compileCache = enableCompileCache(fileURLToPath(new URL('../.compile-cache/', import.meta.url)));

/** Errors whose message says all a user needs: logged without a stack trace. */
const PLAIN_ERRORS = new Set(['ConfigError', 'EmbeddedDatabaseBusyError', 'NatsUnavailableError']);

async function main(log: Pino): Promise<void> {
  const config = loadConfig();
  log.level = config.logLevel;
  const gate = new StartGate();
  let app: Awaited<ReturnType<typeof import('./app.factory.js').createApp>> | undefined;
  let stopping = false;
  // Idempotent: Ctrl-C in a terminal reaches this process twice (from the terminal and
  // forwarded by npm), and a second signal must not cut the graceful shutdown short.
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: shutting down`);
    // No new connections from here on: they belong to another replica or the next process.
    gate.close();
    // Still starting: nobody is connected yet, and nothing half-done survives (migrations
    // run in transactions).
    if (!app) process.exit(0);
    // Clients get 1012 and reconnect to another replica or to the next process; whatever
    // happens, the process is gone within SHUTDOWN_TIMEOUT_MS.
    setTimeout(() => {
      log.warn(`shutdown did not finish within ${config.shutdownTimeoutMs} ms; exiting`);
      process.exit(0);
    }, config.shutdownTimeoutMs).unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(0);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const address = await gate.listen(config.port, config.host);
  const listening = performance.now();
  const cpuListening = cpuMs();
  log.debug({ ...address }, 'listening; holding requests until ready');

  try {
    const { createApp } = await import('./app.factory.js');
    const loaded = performance.now();
    const cpuLoaded = cpuMs();
    const created = await createApp(config, log);
    await created.init();
    app = created;
    gate.admit(created.getHttpServer());
    const ready = performance.now();
    const cpuReady = cpuMs();
    // Milliseconds since the process started, by phase: a slow start shows where it went.
    // CPU time too, which a busy machine does not inflate the way it does wall time.
    const start_ms = { listening: Math.round(listening), modules: Math.round(loaded - listening), application: Math.round(ready - loaded), ready: Math.round(ready) };
    const start_cpu_ms = { listening: cpuListening, modules: cpuLoaded - cpuListening, application: cpuReady - cpuLoaded, ready: cpuReady };
    log.info({ ...address, database: config.databaseUrl ? 'postgres' : 'embedded', bus: config.natsServers ? 'nats' : 'memory', start_ms, start_cpu_ms }, 'ready');
    if (compileCache.directory) setImmediate(flushCompileCache);
  } catch (error) {
    gate.refuseHeld();
    throw error;
  }
}

/** CPU time (user + system, all threads) this process has used so far. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return Math.round((user + system) / 1000);
}

const log = createLog(process.env.LOG_LEVEL?.trim() || 'info');
main(log).catch((error: unknown) => {
  const plain = error instanceof Error && PLAIN_ERRORS.has(error.constructor.name);
  if (plain) log.fatal(`error: ${(error as Error).message}`);
  else log.fatal({ err: error }, 'start-up failed');
  process.exit(1);
});
