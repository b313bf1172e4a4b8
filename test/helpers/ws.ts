import WebSocket from 'ws';
import type { ServerFrame } from '../../src/protocol/protocol.js';
import { WS_PATH } from '../../src/protocol/protocol.js';

export interface Closed {
  code: number;
  reason: string;
}

/**
 * A plain protocol client that records every frame. Its listeners are attached before the
 * socket opens: the server speaks first.
 */
export class TestSocket {
  readonly frames: ServerFrame[] = [];
  readonly closed: Promise<Closed>;
  readonly opened: Promise<void>;
  private waiters: (() => void)[] = [];
  readonly socket: WebSocket;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.socket = new WebSocket(url, options);
    this.socket.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as ServerFrame);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.socket.on('error', () => undefined);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      this.socket.once('close', () => reject(new Error('closed before open')));
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => {
      this.socket.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const wake of this.waiters.splice(0)) wake();
      });
    });
  }

  static connect(wsBase: string, sessionId: string | null, key: string | null, extra = ''): TestSocket {
    const query = new URLSearchParams();
    if (sessionId !== null) query.set('session_id', sessionId);
    if (key !== null) query.set('access_token', key);
    return new TestSocket(`${wsBase}${WS_PATH}?${query}${extra}`);
  }

  get isClosed(): boolean {
    return this.socket.readyState === WebSocket.CLOSED;
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame (at index ≥ `from`) matching `match`; rejects on close or timeout. */
  async next<T extends ServerFrame = ServerFrame>(match: (frame: ServerFrame) => boolean = () => true, timeoutMs = 5000, from = 0): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found) return found as T;
      if (this.isClosed) throw new Error(`socket closed before the expected frame; got ${JSON.stringify(this.frames).slice(0, 500)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no expected frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  /** Highest version among the versioned frames received. */
  get lastVersion(): number {
    return this.frames.reduce((max, frame) => ('version' in frame ? Math.max(max, frame.version) : max), 0);
  }

  close(): void {
    this.socket.close();
  }
}
