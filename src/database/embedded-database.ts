import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

const requireHere = createRequire(import.meta.url);

/**
 * Runs in a worker thread: PGlite executes its WebAssembly synchronously, and on the main
 * thread every query would stall the event loop (accepting connections, pings, fan-out).
 * Plain CommonJS evaluated from a string, so it runs the same from dist/ and from sources.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require(workerData.pglite);
const { PGLiteSocketServer } = require(workerData.socket);
(async () => {
  const db = await PGlite.create(workerData.dir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
  await server.start();
  parentPort.on('message', async () => {
    await server.stop().catch(() => undefined);
    await db.close().catch(() => undefined);
    parentPort.postMessage({ stopped: true });
  });
  parentPort.postMessage({ listening: server.getServerConn() });
})().catch((error) => parentPort.postMessage({ error: String((error && error.stack) || error) }));
`;

export class EmbeddedDatabaseBusyError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `The embedded database in ${dataDir} is in use by another process (pid ${pid}). ` +
        `Stop that process first, or point both at a shared PostgreSQL with DATABASE_URL.`,
    );
  }
}

/**
 * The embedded default: PGlite (Postgres compiled to WebAssembly) in a worker thread of this
 * process, served on a loopback port so the application talks to it through the same `pg`
 * driver and SQL as to a real PostgreSQL. PGlite is single-session: the data source must use
 * a pool of ONE connection, which serializes transactions instead of interleaving them.
 *
 * PGlite does not lock its directory, and two processes on one directory corrupt it, so a
 * pid file guards it; a pid file left by a dead process is taken over.
 */
export class EmbeddedDatabase {
  private worker?: Worker;
  private lockPath?: string;

  async open(dataDir: string): Promise<{ host: string; port: number }> {
    mkdirSync(dataDir, { recursive: true });
    this.lockPath = this.acquireLock(dataDir);
    try {
      this.worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          dir: join(dataDir, 'pglite'),
          pglite: requireHere.resolve('@electric-sql/pglite'),
          socket: requireHere.resolve('@electric-sql/pglite-socket'),
        },
      });
      const address = await this.reply<string>(this.worker, 'listening');
      const [host, port] = address.split(':');
      return { host, port: Number(port) };
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) {
      // Let PGlite flush and close its files, then end the thread whatever it answered.
      worker.postMessage('stop');
      const patience = new Promise((resolve) => setTimeout(resolve, 5000).unref());
      await Promise.race([this.reply(worker, 'stopped'), patience]).catch(() => undefined);
      await worker.terminate();
    }
    if (this.lockPath) rmSync(this.lockPath, { force: true });
    this.lockPath = undefined;
  }

  /** The worker's next message of the given kind; rejects on its error or exit. */
  private reply<T>(worker: Worker, kind: 'listening' | 'stopped'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (message.error) finish(() => reject(new Error(`embedded database: ${String(message.error)}`)));
        else if (kind in message) finish(() => resolve(message[kind] as T));
      };
      const onExit = (code: number) => finish(() => reject(new Error(`embedded database thread exited (${code})`)));
      const finish = (settle: () => void) => {
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        settle();
      };
      worker.on('message', onMessage);
      worker.on('exit', onExit);
    });
  }

  private acquireLock(dataDir: string): string {
    const path = join(dataDir, 'embedded.pid');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        writeFileSync(fd, String(process.pid));
        closeSync(fd);
        return path;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const pid = Number(readFileSync(path, 'utf8').trim());
        if (pid && pid !== process.pid && isAlive(pid)) throw new EmbeddedDatabaseBusyError(dataDir, pid);
        rmSync(path, { force: true });
      }
    }
    throw new Error(`could not lock ${path}`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
