// Shared by the peer servers: the same session/interaction model and REST subset as the
// service (enough of PROTOCOL.md for the bench to drive every target with one client),
// kept in memory, so peers differ from the service only in transport and durability.
import { randomUUID } from 'node:crypto';

export function parseArgs(argv) {
  const out = {};
  for (const a of argv) {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

export class Store {
  constructor() {
    this.sessions = new Map();
  }
  createSession(name) {
    const now = new Date().toISOString();
    const s = {
      id: randomUUID(),
      name,
      owner: 'peer-owner',
      version: 1,
      created: now,
      updated: now,
      interactions: [],
    };
    this.sessions.set(s.id, s);
    return s;
  }
  get(id) {
    return this.sessions.get(id);
  }
}

/** v1.1 `since`: the session with only the interactions changed after `since`, when it has them. */
export function sinceFrame(sessionId, s, since) {
  if (!s || !(since >= 1) || since > s.version) return snapshotFrame(sessionId, s);
  return foundFrame(s, { since, session: { ...s, interactions: s.interactions.filter((i) => i.version > since) } });
}

export function snapshotFrame(sessionId, s) {
  if (!s) {
    return JSON.stringify({
      type: 'session_update',
      session_id: sessionId,
      owner: null,
      version: 0,
      snapshot: true,
      session: null,
      error: { code: 'session_not_found', message: 'session not found' },
    });
  }
  return foundFrame(s, { session: s });
}

/** A snapshot of a session that exists; `rest` holds `since` (when given) and `session`, in that order. */
function foundFrame(s, rest) {
  return JSON.stringify({ type: 'session_update', session_id: s.id, owner: s.owner, version: s.version, snapshot: true, ...rest });
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (!chunks.length) return resolve({});
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (e) {
        reject(e);
      }
    });
    req.on('error', reject);
  });
}

function send(res, status, body) {
  const data = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

/**
 * HTTP handler for the REST subset (with the v1.1 write additions: `Prefer: return=minimal`
 * and `offset`). `publish(sessionId, frame, appendFrame?)` is called once per committed
 * change with the frames already serialised (`appendFrame` for a PATCH with `append`), so
 * each peer hands identical bytes to every subscriber, as the service is expected to.
 */
export function restHandler(store, publish, extraMetrics = () => ({})) {
  return async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      const p = url.pathname;
      if (p === '/healthz' || p === '/readyz') return send(res, 200, { status: 'ok' });
      if (p === '/metrics') {
        const m = process.memoryUsage();
        return send(res, 200, { heap_used: m.heapUsed, rss: m.rss, ...extraMetrics() });
      }
      let m;
      if (req.method === 'POST' && p === '/api/v1/sessions') {
        const body = await readBody(req);
        return send(res, 201, store.createSession(String(body.name ?? 'session')));
      }
      if ((m = /^\/api\/v1\/sessions\/([^/]+)$/.exec(p)) && req.method === 'GET') {
        const s = store.get(m[1]);
        return s ? send(res, 200, s) : send(res, 404, { statusCode: 404, error: 'Not Found', message: 'session_not_found' });
      }
      if ((m = /^\/api\/v1\/sessions\/([^/]+)\/interactions$/.exec(p)) && req.method === 'POST') {
        const s = store.get(m[1]);
        if (!s) return send(res, 404, { statusCode: 404, error: 'Not Found', message: 'session_not_found' });
        const body = await readBody(req);
        const now = new Date().toISOString();
        const it = {
          id: randomUUID(),
          session_id: s.id,
          created: now,
          updated: now,
          prompt_message: String(body.prompt_message ?? ''),
          response_message: '',
          state: 'waiting',
          error: '',
          version: 0,
        };
        s.interactions.push(it);
        s.version += 1;
        it.version = s.version;
        s.updated = now;
        publish(s.id, interactionFrame(s, it));
        return answer(req, res, 201, it);
      }
      if ((m = /^\/api\/v1\/sessions\/([^/]+)\/interactions\/([^/]+)$/.exec(p)) && req.method === 'PATCH') {
        const s = store.get(m[1]);
        const it = s?.interactions.find((i) => i.id === m[2]);
        if (!it) return send(res, 404, { statusCode: 404, error: 'Not Found', message: 'not found' });
        const body = await readBody(req);
        if (body.offset !== undefined) {
          if (!Number.isInteger(body.offset) || body.offset < 0 || typeof body.append !== 'string') {
            return send(res, 400, { statusCode: 400, error: 'Bad Request', message: ['offset must be an integer >= 0, given with append'] });
          }
          const current = Buffer.byteLength(it.response_message);
          if (current !== body.offset) return send(res, 409, { statusCode: 409, error: 'Conflict', message: 'offset does not match', offset: current });
        }
        if (typeof body.append === 'string') it.response_message += body.append;
        if (typeof body.response_message === 'string') it.response_message = body.response_message;
        if (typeof body.state === 'string') it.state = body.state;
        if (typeof body.error === 'string') it.error = body.error;
        const now = new Date().toISOString();
        it.updated = now;
        s.updated = now;
        s.version += 1;
        it.version = s.version;
        publish(s.id, interactionFrame(s, it), typeof body.append === 'string' ? appendFrame(s, it, body) : undefined);
        return answer(req, res, 200, it);
      }
      send(res, 404, { statusCode: 404, error: 'Not Found', message: 'no route' });
    } catch (e) {
      send(res, 400, { statusCode: 400, error: 'Bad Request', message: String(e?.message ?? e) });
    }
  };
}

/** v1.1 `Prefer: return=minimal`: the ids and the new version instead of the interaction. */
function answer(req, res, status, it) {
  if (!/(^|[,\s])return=minimal(\s*(,|;|$))/.test(String(req.headers.prefer ?? ''))) return send(res, status, it);
  res.setHeader('preference-applied', 'return=minimal');
  return send(res, status, { id: it.id, session_id: it.session_id, version: it.version });
}

/** v1.1 `interaction_append`, for `delta=append` subscribers (the ws peer; socket.io ignores it). */
function appendFrame(s, it, body) {
  const f = { type: 'interaction_append', session_id: s.id, owner: s.owner, interaction_id: it.id, version: s.version, append: body.append, updated: it.updated };
  if ('state' in body) f.state = it.state;
  if ('error' in body) f.error = it.error;
  return JSON.stringify(f);
}

function interactionFrame(s, it) {
  return JSON.stringify({
    type: 'interaction_update',
    session_id: s.id,
    owner: s.owner,
    interaction_id: it.id,
    version: s.version,
    interaction: it,
  });
}

/** Exits 0 after `close` finishes, or anyway after a bound, as the service is expected to. */
export function onSigterm(close, boundMs = 10000) {
  process.on('SIGTERM', () => {
    const t = setTimeout(() => process.exit(0), boundMs);
    t.unref();
    Promise.resolve(close()).finally(() => process.exit(0));
  });
}
