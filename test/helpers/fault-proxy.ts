import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { freePort } from './ports.js';

export type ProxyMode = 'pass' | 'blackhole' | 'refuse';

/**
 * A TCP forwarder in front of PostgreSQL that can fail the way networks and databases do:
 * - `pass`: bytes flow both ways;
 * - `blackhole`: connections are accepted and bytes taken, but nothing answers (a hung
 *   server or a dead path); what was held is delivered, in order, when it passes again;
 * - `refuse`: the port is closed (ECONNREFUSED) and every open connection is cut, as when
 *   the database is down.
 */
export class FaultProxy {
  private mode: ProxyMode = 'pass';
  private server?: Server;
  private readonly pipes = new Set<{ flush(): void; destroy(): void }>();

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<FaultProxy> {
    const proxy = new FaultProxy(await freePort(), { host: targetHost, port: targetPort });
    await proxy.listen();
    return proxy;
  }

  /** Starts a proxy in front of the database at `url`. */
  static async inFrontOf(url: string): Promise<FaultProxy> {
    const target = new URL(url);
    return FaultProxy.start(target.hostname, Number(target.port || 5432));
  }

  /** `url` with its host and port replaced by the proxy's. */
  through(url: string): string {
    const proxied = new URL(url);
    proxied.host = `127.0.0.1:${this.port}`;
    return proxied.toString();
  }

  get current(): ProxyMode {
    return this.mode;
  }

  async set(mode: ProxyMode): Promise<void> {
    const before = this.mode;
    this.mode = mode;
    if (mode === 'refuse') {
      for (const pipe of this.pipes) pipe.destroy();
      await this.unlisten();
    } else if (before === 'refuse') {
      await this.listen();
    }
    if (mode === 'pass') for (const pipe of this.pipes) pipe.flush();
  }

  async close(): Promise<void> {
    for (const pipe of this.pipes) pipe.destroy();
    await this.unlisten();
  }

  private async listen(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  private async unlisten(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const upstream = createConnection(this.target.port, this.target.host);
    const held: [Socket, Buffer][] = [];
    const pipe = {
      flush: () => {
        for (const [to, chunk] of held.splice(0)) if (!to.destroyed) to.write(chunk);
      },
      destroy: () => {
        client.destroy();
        upstream.destroy();
      },
    };
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk) => {
        if (this.mode === 'pass') to.write(chunk);
        else held.push([to, chunk]);
      });
      from.on('error', () => undefined);
      from.on('close', () => {
        this.pipes.delete(pipe);
        to.destroy();
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    this.pipes.add(pipe);
  }
}
