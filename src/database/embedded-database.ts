import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export class EmbeddedDatabaseBusyError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `The embedded database in ${dataDir} is in use by another process (pid ${pid}). ` +
        `Stop that process first, or point both at a shared PostgreSQL with DATABASE_URL.`,
    );
  }
}

/**
 * The embedded default: PGlite (Postgres compiled to WebAssembly) in this process, served on
 * a loopback port so the application talks to it through the same `pg` driver and SQL as to
 * a real PostgreSQL. PGlite is single-session: the data source must use a pool of ONE
 * connection, which serializes transactions instead of interleaving them on one session.
 *
 * PGlite does not lock its directory, and two processes on one directory corrupt it, so a
 * pid file guards it; a pid file left by a dead process is taken over.
 */
export class EmbeddedDatabase {
  private db?: PGlite;
  private server?: PGLiteSocketServer;
  private lockPath?: string;

  async open(dataDir: string): Promise<{ host: string; port: number }> {
    mkdirSync(dataDir, { recursive: true });
    this.lockPath = this.acquireLock(dataDir);
    try {
      this.db = await PGlite.create(join(dataDir, 'pglite'));
      this.server = new PGLiteSocketServer({ db: this.db, host: '127.0.0.1', port: 0 });
      await this.server.start();
    } catch (err) {
      await this.close();
      throw err;
    }
    const [host, port] = this.server.getServerConn().split(':');
    return { host, port: Number(port) };
  }

  async close(): Promise<void> {
    await this.server?.stop().catch(() => undefined);
    await this.db?.close().catch(() => undefined);
    this.server = undefined;
    this.db = undefined;
    if (this.lockPath) rmSync(this.lockPath, { force: true });
    this.lockPath = undefined;
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
