import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Api } from './api.js';
import { freePort } from './ports.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = `${ROOT}dist/src/main.js`;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The service as a real child process (`node dist/src/main.js`, built by `npm test`), for
 * behaviour that is about processes: restart, SIGTERM, SIGKILL, replicas.
 */
export class ServiceProcess {
  readonly output: string[] = [];
  readonly exited: Promise<Exit>;
  /** Key printed on a first start against an empty database, if this start printed one. */
  apiKey?: string;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly env: Record<string, string>,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        this.output.push(line);
        const key = /^api_key: (\S+)$/.exec(line)?.[1];
        if (key) this.apiKey = key;
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  }

  /** Starts the service and resolves once it answers /readyz with 200. */
  static async start(env: Record<string, string>, port?: number): Promise<ServiceProcess> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);
    const listen = port ?? (await freePort());
    const fullEnv = { LOG_LEVEL: 'info', ...env, PORT: String(listen), HOST: '127.0.0.1' };
    // The run's own DATABASE_URL / NATS_URL never leak in: a process gets exactly the database
    // and bus its test names (none means the embedded database and the in-process bus).
    const inherited = { ...process.env, DATABASE_URL: '', NATS_URL: '' };
    const child = spawn(process.execPath, [MAIN], { cwd: ROOT, env: { ...inherited, ...fullEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    const service = new ServiceProcess(child, listen, fullEnv);
    await service.waitReady();
    return service;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsBase(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  api(key = this.apiKey!): Api {
    return new Api(this.baseUrl, key);
  }

  /** A new process on the same port and env, as a restart would give. */
  restart(): Promise<ServiceProcess> {
    return ServiceProcess.start(this.env, this.port);
  }

  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      if (exited) throw new Error(`the service exited during start:\n${this.output.join('\n')}`);
      const status = await fetch(`${this.baseUrl}/readyz`).then((r) => r.status, () => 0);
      if (status === 200) return;
      if (Date.now() > deadline) throw new Error(`the service was not ready within ${timeoutMs} ms:\n${this.output.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Sends the signal and resolves with how the process ended. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
