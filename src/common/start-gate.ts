import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** How long a request or WebSocket upgrade that arrived during start-up waits to be admitted. */
export const START_HOLD_MS = 10_000;

/**
 * Held requests and upgrades handed to the application per turn of the event loop: after a
 * restart thousands of clients may be waiting, and a readiness probe (or any request) that
 * arrives as they are admitted should not queue behind all of them.
 */
export const ADMIT_BATCH = 256;

type Held =
  | { kind: 'request'; req: IncomingMessage; res: ServerResponse; timer: NodeJS.Timeout }
  | { kind: 'upgrade'; req: IncomingMessage; socket: Duplex; head: Buffer; timer: NodeJS.Timeout };

/**
 * The listening socket, opened within milliseconds of process start, before the application
 * is loaded. While the service starts, `/healthz` answers 200 and `/readyz` 503, and every
 * other request and WebSocket upgrade is held (not refused, so clients do not back off) until
 * `admit()` hands them, and everything after them, to the application's HTTP server; what is
 * still held after START_HOLD_MS, or when start-up fails, gets a 503 with Retry-After.
 *
 * The application's own server never listens: it receives this server's `request` and
 * `upgrade` events, which is all Express and the WebSocket adapter attach to.
 */
export class StartGate {
  readonly server: Server;
  private readonly held = new Set<Held>();
  private target?: Server;

  constructor(private readonly holdMs = START_HOLD_MS) {
    this.server = createServer();
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
  }

  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve({ host, port: typeof address === 'object' && address ? address.port : port });
      });
    });
  }

  /**
   * From now on the application answers everything, starting with what was held: in
   * arrival order, ADMIT_BATCH per turn of the event loop, while what arrives meanwhile goes
   * to the application at once. A client that left while waiting is skipped.
   */
  admit(target: Server): void {
    this.target = target;
    const queue = [...this.held];
    this.held.clear();
    for (const entry of queue) clearTimeout(entry.timer);
    const handOver = (from: number): void => {
      const end = Math.min(from + ADMIT_BATCH, queue.length);
      for (let index = from; index < end; index++) {
        const entry = queue[index];
        if (entry.kind === 'request') {
          if (!entry.res.writableEnded && !entry.req.socket.destroyed) target.emit('request', entry.req, entry.res);
        } else if (!entry.socket.destroyed) target.emit('upgrade', entry.req, entry.socket, entry.head);
      }
      if (end < queue.length) setImmediate(handOver, end);
    };
    handOver(0);
  }

  /** Start-up failed: whoever waits gets a 503 at once. */
  refuseHeld(): void {
    for (const entry of this.held) this.release(entry);
  }

  /** Stops accepting connections (shutdown: clients go elsewhere) and ends idle keep-alive ones. */
  close(): void {
    this.refuseHeld();
    this.server.close();
    this.server.closeIdleConnections();
  }

  get holding(): number {
    return this.held.size;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.target) {
      this.target.emit('request', req, res);
      return;
    }
    const path = req.url?.split('?')[0];
    if (path === '/healthz') return void json(res, 200, { status: 'ok' });
    if (path === '/readyz') return void json(res, 503, { status: 'unavailable', database: 'starting', bus: 'starting' }, { 'retry-after': '1' });
    const entry: Held = { kind: 'request', req, res, timer: this.timer(() => this.release(entry)) };
    res.once('close', () => this.forget(entry));
    this.held.add(entry);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.target) {
      this.target.emit('upgrade', req, socket, head);
      return;
    }
    const entry: Held = { kind: 'upgrade', req, socket, head, timer: this.timer(() => this.release(entry)) };
    socket.once('close', () => this.forget(entry));
    this.held.add(entry);
  }

  /** A client that gave up while held is simply dropped from the queue. */
  private forget(entry: Held): void {
    clearTimeout(entry.timer);
    this.held.delete(entry);
  }

  private timer(fire: () => void): NodeJS.Timeout {
    return setTimeout(fire, this.holdMs);
  }

  private release(entry: Held): void {
    clearTimeout(entry.timer);
    this.held.delete(entry);
    if (entry.kind === 'request') {
      json(entry.res, 503, { statusCode: 503, error: 'Service Unavailable', message: 'the service is starting; retry shortly' }, { 'retry-after': '1' });
    } else if (entry.socket.writable) {
      const body = JSON.stringify({ statusCode: 503, error: 'Service Unavailable', message: 'the service is starting; retry shortly' });
      entry.socket.end(`HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    } else {
      entry.socket.destroy();
    }
  }
}

function json(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
