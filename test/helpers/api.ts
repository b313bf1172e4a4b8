import type { Interaction, Session, SessionList } from '../../src/protocol/protocol.js';

export interface Reply<T = any> {
  status: number;
  body: T;
}

/** A REST client of the service for one API key. */
export class Api {
  constructor(
    readonly baseUrl: string,
    readonly key: string,
  ) {}

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
    const response = await fetch(`${this.baseUrl}/api/v1${path}`, {
      method,
      headers: {
        ...(this.key ? { authorization: `Bearer ${this.key}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  private async ok<T>(reply: Promise<Reply<T>>, status: number): Promise<T> {
    const { status: got, body } = await reply;
    if (got !== status) throw new Error(`expected ${status}, got ${got}: ${JSON.stringify(body)}`);
    return body;
  }

  createSession(name = 'test session'): Promise<Session> {
    return this.ok(this.request('POST', '/sessions', { name }), 201);
  }

  getSession(id: string): Promise<Session> {
    return this.ok(this.request('GET', `/sessions/${id}`), 200);
  }

  listSessions(query = ''): Promise<SessionList> {
    return this.ok(this.request('GET', `/sessions${query}`), 200);
  }

  renameSession(id: string, name: string): Promise<Session> {
    return this.ok(this.request('PATCH', `/sessions/${id}`, { name }), 200);
  }

  deleteSession(id: string): Promise<void> {
    return this.ok(this.request('DELETE', `/sessions/${id}`), 204);
  }

  addInteraction(sessionId: string, prompt = 'hello'): Promise<Interaction> {
    return this.ok(this.request('POST', `/sessions/${sessionId}/interactions`, { prompt_message: prompt }), 201);
  }

  updateInteraction(sessionId: string, id: string, changes: Record<string, unknown>): Promise<Interaction> {
    return this.ok(this.request('PATCH', `/sessions/${sessionId}/interactions/${id}`, changes), 200);
  }
}
