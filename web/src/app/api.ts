import {
  API_PREFIX,
  type Interaction,
  type Session,
  type SessionList,
} from '../../../src/protocol/protocol.js';

/** A failed REST call, with the server's message made readable. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function request<T>(key: string, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${API_PREFIX}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'The service cannot be reached. Check your connection and try again.');
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const message = (data as { message?: string | string[] } | undefined)?.message;
    const readable = Array.isArray(message) ? message.join('; ') : message;
    throw new ApiError(res.status, readable || `${res.status} ${res.statusText}`);
  }
  return data as T;
}

export function listSessions(key: string, cursor: string | null, limit = 50): Promise<SessionList> {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set('cursor', cursor);
  return request(key, 'GET', `/sessions?${query}`);
}

export function createSession(key: string, name: string): Promise<Session> {
  return request(key, 'POST', '/sessions', { name });
}

export function createInteraction(key: string, sessionId: string, prompt: string): Promise<Interaction> {
  return request(key, 'POST', `/sessions/${encodeURIComponent(sessionId)}/interactions`, { prompt_message: prompt });
}
