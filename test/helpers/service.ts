import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Api } from './api.js';
import { freePort } from './ports.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// The bundle `npm start` runs (scripts/bundle.mjs), so that the specs test what ships.
const MAIN = `${ROOT}dist/server/main.js`;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  port?: number;
  /** Start it as a user does, through `npm start`, instead of `node dist/server/main.js`. */
  npm?: boolean;
}

/**
 * The service as a real child process (`node dist/server/main.js`, built by `npm test`, or
 * `npm start`), for behaviour that is about processes: restart, SIGTERM, SIGKILL, replicas.
 */
export class ServiceProcess {
  readonly output: string[] = [];
  readonly exited: Promise<Exit>;
  /** Key printed on a first start against an empty database, if this start printed one. */
  apiKey?: string;

  private constructor(
    readonly child: ChildProcess,
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
  static async start(env: Record<string, string>, port?: number, readyWithinMs?: number): Promise<ServiceProcess> {
    const service = await ServiceProcess.spawn(env, { port });
    try {
      await service.waitReady(readyWithinMs);
    } catch (error) {
      await service.stop('SIGKILL');
      throw error;
    }
    return service;
  }

  /** Starts the service without waiting for it to be ready. */
  static async spawn(env: Record<string, string>, options: SpawnOptions = {}): Promise<ServiceProcess> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);
    const listen = options.port ?? (await freePort());
    const fullEnv = { LOG_LEVEL: 'info', ...env, PORT: String(listen), HOST: '127.0.0.1' };
    // The run's own DATABASE_URL / NATS_URL never leak in: a process gets exactly the database
    // and bus its test names (none means the embedded database and the in-process bus).
    // npm and the scripts it runs use the same node as this run.
    const inherited = { ...process.env, DATABASE_URL: '', NATS_URL: '', PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
    const [command, args] = options.npm ? ['npm', ['start']] : [process.execPath, [MAIN]];
    const child = spawn(command, args, { cwd: ROOT, env: { ...inherited, ...fullEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    return new ServiceProcess(child, listen, fullEnv);
  }

  /** The process and every process under it, as they are now (Linux /proc). */
  tree(): number[] {
    return this.child.pid === undefined ? [] : descendantsOf(this.child.pid, true);
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

  /** Resolves once /healthz answers (the port is open, the service may still be starting). */
  async waitListening(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await fetch(`${this.baseUrl}/healthz`).then((r) => r.status, () => 0)) !== 200) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`the service exited during start:\n${this.output.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`the service did not listen within ${timeoutMs} ms:\n${this.output.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Sends the signal and resolves with how the process ended. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** Pids of the processes under `root` (and `root` itself when asked), from /proc. */
export function descendantsOf(root: number, includeRoot = false): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name, in parentheses, may hold spaces: the ppid is the 2nd field after it.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const found = includeRoot && parentOf.has(root) ? [root] : [];
  for (let i = -1; i < found.length; i++) {
    const parent = i < 0 ? root : found[i];
    for (const [pid, ppid] of parentOf) if (ppid === parent && !found.includes(pid)) found.push(pid);
  }
  return found;
}

/** Whether a process with this pid still exists (a zombie counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
