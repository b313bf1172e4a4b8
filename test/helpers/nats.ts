import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.js';

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/** A nats-server of the test's own, on its own port, that the test may stop and start again. */
export class TestNatsServer {
  private process?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'nats-'));

  private constructor(readonly port: number) {}

  static async start(): Promise<TestNatsServer> {
    if (!existsSync(NATS_SERVER)) throw new Error(`nats-server is required at ${NATS_SERVER} (apt-get install nats-server)`);
    const server = new TestNatsServer(await freePort());
    await server.resume();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async resume(): Promise<void> {
    this.process = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(this.port), '-sd', this.dir], { stdio: 'ignore' });
    await waitForPort(this.port);
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
