import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP forwarder that can stop passing bytes (both ways) without closing anything: the peer
 * behind it looks alive but silent, as a hung database does. Bytes that arrive while paused
 * are held and delivered, in order, on resume.
 */
export class TcpProxy {
  private paused = false;
  private readonly pipes = new Set<{ flush(): void; destroy(): void }>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    let proxy!: TcpProxy;
    const server = createServer((client) => proxy.accept(client, targetHost, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const pipe of this.pipes) pipe.flush();
  }

  async close(): Promise<void> {
    for (const pipe of this.pipes) pipe.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, host: string, port: number): void {
    const upstream = createConnection(port, host);
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
        if (this.paused) held.push([to, chunk]);
        else to.write(chunk);
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
