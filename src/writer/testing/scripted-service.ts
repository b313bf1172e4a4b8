import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A stand-in for the service's interaction endpoints on a real HTTP server, for the writer's
 * unit tests: it keeps responses like the service does (append with `offset` → 409 with the
 * current UTF-8 length), and answers according to a script of faults, so that a test decides
 * which request loses its answer, is refused, stalls or gets a 5xx.
 */

export type Fault =
  /** Answer normally. */
  | 'ok'
  /** Apply the change, then cut the connection: the client never sees the answer. */
  | 'apply-then-drop'
  /** Cut the connection without applying. */
  | 'drop'
  /** Answer this without applying. */
  | { status: number; headers?: Record<string, string>; body?: unknown }
  /** Hold the request this long, then apply it (or not) and answer if the client still listens. */
  | { stallMs: number; apply: boolean };

export interface RecordedRequest {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
  prefer: string | undefined;
  authorization: string | undefined;
  /** The fault it was answered with. */
  fault: Fault;
}

export interface FakeInteraction {
  id: string;
  session_id: string;
  prompt_message: string;
  response_message: string;
  state: string;
  error: string;
  version: number;
}

export class ScriptedService {
  readonly requests: RecordedRequest[] = [];
  readonly interactions = new Map<string, FakeInteraction>();
  /** Faults for the next matching requests, in order; `ok` once empty. */
  private readonly script: { match: (r: { method: string; path: string }) => boolean; fault: Fault }[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private version = 1;
  private inFlight = 0;
  /** Most requests that were being handled at once. */
  maxInFlight = 0;
  port = 0;

  constructor(readonly sessionId = randomUUID()) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening and cuts every open connection: new requests are refused until `start(port)`. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  up(): Promise<this> {
    return this.start(this.port);
  }

  /** Faults for the next requests that `match` (default: every PATCH). */
  plan(faults: Fault[], match: (r: { method: string; path: string }) => boolean = (r) => r.method === 'PATCH'): this {
    for (const fault of faults) this.script.push({ match, fault });
    return this;
  }

  add(prompt: string, response = ''): FakeInteraction {
    const interaction: FakeInteraction = {
      id: randomUUID(), session_id: this.sessionId, prompt_message: prompt, response_message: response,
      state: 'waiting', error: '', version: ++this.version,
    };
    this.interactions.set(interaction.id, interaction);
    return interaction;
  }

  private nextFault(method: string, path: string): Fault {
    const at = this.script.findIndex((s) => s.match({ method, path }));
    if (at === -1) return 'ok';
    return this.script.splice(at, 1)[0].fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
      const method = req.method!;
      const path = req.url!;
      const fault = this.nextFault(method, path);
      this.requests.push({ method, path, body, prefer: req.headers.prefer as string | undefined, authorization: req.headers.authorization, fault });

      if (fault === 'drop') return void req.socket.destroy();
      if (typeof fault === 'object' && 'status' in fault) {
        return this.answer(res, fault.status, fault.body ?? { statusCode: fault.status, message: 'scripted' }, fault.headers);
      }
      if (typeof fault === 'object' && 'stallMs' in fault) {
        await new Promise((resolve) => setTimeout(resolve, fault.stallMs));
        if (!fault.apply) return void req.socket.destroy();
      }
      const [status, answer] = this.apply(method, path, body, req.headers.prefer === 'return=minimal');
      if (fault === 'apply-then-drop') return void req.socket.destroy();
      this.answer(res, status, answer);
    } finally {
      this.inFlight--;
    }
  }

  private answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  /** The service's behaviour for the three calls the writer makes. */
  private apply(method: string, path: string, body: Record<string, unknown> | undefined, minimal: boolean): [number, unknown] {
    const base = `/api/v1/sessions/${this.sessionId}`;
    const minimalOr = (i: FakeInteraction) => (minimal ? { id: i.id, session_id: i.session_id, version: i.version } : i);
    if (method === 'GET' && path === base) {
      return [200, { id: this.sessionId, version: this.version, interactions: [...this.interactions.values()] }];
    }
    if (method === 'POST' && path === `${base}/interactions`) {
      return [201, minimalOr(this.add(String(body?.prompt_message)))];
    }
    const iid = path.startsWith(`${base}/interactions/`) ? path.slice(base.length + '/interactions/'.length) : null;
    const interaction = iid ? this.interactions.get(iid) : undefined;
    if (method !== 'PATCH' || !interaction || !body) return [404, { statusCode: 404, message: 'not found' }];
    if (body.offset !== undefined) {
      const current = Buffer.byteLength(interaction.response_message);
      if (body.offset !== current) return [409, { statusCode: 409, error: 'Conflict', message: 'offset', offset: current }];
    }
    if (typeof body.append === 'string') interaction.response_message += body.append;
    if (typeof body.state === 'string') interaction.state = body.state;
    if (typeof body.error === 'string') interaction.error = body.error;
    interaction.version = ++this.version;
    return [200, minimalOr(interaction)];
  }
}
