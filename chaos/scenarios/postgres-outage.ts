import WebSocket from 'ws';
import { ErrorCode, WS_PATH, type Session } from '../../src/protocol/protocol.js';
import { FaultProxy, type ProxyMode } from '../../test/helpers/fault-proxy.js';
import { Follower } from '../lib/follower.js';
import { sleep, timeUntil, type Scenario } from '../lib/scenario.js';
import { Stack } from '../lib/stack.js';

/** Each database wait is bounded by this in the scenario (the default is 5000). */
const DATABASE_TIMEOUT_MS = 2000;
const SESSION_LOOKUP_TIMEOUT_MS = 2000;
/**
 * The documented REST bound: a request may wait once for a connection or a statement and
 * once more for its transaction's ROLLBACK on the same silent connection, each bounded by
 * DATABASE_TIMEOUT_MS, plus scheduling slack on a busy machine.
 */
const REST_BOUND_MS = 2 * DATABASE_TIMEOUT_MS + 1000;
/** SESSION_LOOKUP_TIMEOUT_MS plus the same slack for the connect itself. */
const CONNECT_BOUND_MS = SESSION_LOOKUP_TIMEOUT_MS + 1000;

/**
 * PostgreSQL behind a proxy that first black-holes (connections open, nothing answers),
 * later refuses (port closed, connections cut), 10 s each. While it lasts: new WebSocket
 * connects get `session_unavailable` + 1013 within SESSION_LOOKUP_TIMEOUT_MS; every REST
 * call answers a JSON 503 with Retry-After within REST_BOUND_MS (never a hang, never a
 * 500); /healthz 200, /readyz 503; the process lives. After it: everyone converges.
 */
export const postgresOutage: Scenario = {
  name: 'postgres-outage',
  async run({ quick, log }, guarantees) {
    // Quick mode too: a round of probes may take REST_BOUND_MS, and a few rounds should fit.
    const outageMs = quick ? 10_000 : 10_000;
    const stack = await Stack.create();
    const proxy = await FaultProxy.inFrontOf(stack.database.url!);
    stack.onDispose(() => proxy.close());
    const figures: Record<string, number | string> = {};
    try {
      const nats = await stack.nats();
      const service = await stack.start({
        DATABASE_URL: proxy.through(stack.database.url!),
        NATS_URL: nats.url,
        DATABASE_TIMEOUT_MS: String(DATABASE_TIMEOUT_MS),
        SESSION_LOOKUP_TIMEOUT_MS: String(SESSION_LOOKUP_TIMEOUT_MS),
      });
      let exited = false;
      void service.exited.then(() => (exited = true));
      const api = service.api(stack.apiKey);
      const sessions: Session[] = [];
      for (let i = 0; i < 4; i++) {
        const session = await api.createSession(`pg ${i}`);
        await api.addInteraction(session.id, 'p');
        sessions.push(await api.getSession(session.id));
      }
      const followers = sessions.flatMap((s) => Array.from({ length: 10 }, () => new Follower(service.wsBase, s.id, stack.apiKey).start()));
      await timeUntil(() => followers.every((f) => f.version > 0), 10_000);

      for (const mode of ['blackhole', 'refuse'] as ProxyMode[]) {
        await proxy.set(mode);
        const ends = performance.now() + outageMs;
        const rest: { status: number; ms: number; json: boolean; retryAfter: boolean; what: string }[] = [];
        const connects: Awaited<ReturnType<typeof connectOnce>>[] = [];
        let healthz = 0;
        let readyz = 0;
        let probes = 0;
        await sleep(300);
        do {
          const calls = restCalls(api, sessions, probes);
          const [replies, connect, health, ready] = await Promise.all([
            Promise.all(calls.map(async ([what, call]) => {
              const start = performance.now();
              const reply = await call();
              return { ...reply, ms: Math.round(performance.now() - start), what };
            })),
            connectOnce(service.wsBase, sessions[probes % sessions.length].id, stack.apiKey),
            fetch(`${service.baseUrl}/healthz`).then((r) => r.status, () => 0),
            fetch(`${service.baseUrl}/readyz`).then((r) => r.status, () => 0),
          ]);
          rest.push(...replies);
          connects.push(connect);
          probes++;
          if (health === 200) healthz++;
          if (ready === 503) readyz++;
        } while (performance.now() < ends - REST_BOUND_MS);
        await sleep(Math.max(0, ends - performance.now()));
        await proxy.set('pass');
        const bad = rest.filter((r) => r.status !== 503 || !r.json || !r.retryAfter);
        const slow = rest.filter((r) => r.ms > REST_BOUND_MS);
        guarantees.check(rest.length > 0 && bad.length === 0, `${mode}: ${bad.length} of ${rest.length} REST calls were not a JSON 503 with Retry-After (${bad.slice(0, 3).map((r) => `${r.what} → ${r.status}`).join(', ')})`);
        guarantees.check(slow.length === 0, `${mode}: ${slow.length} REST calls took longer than ${REST_BOUND_MS} ms (slowest ${Math.max(...rest.map((r) => r.ms))} ms)`);
        // A connect may also be served a snapshot read shortly before the outage, still shared
        // (the state kept for the session, CHANNEL_LINGER_MS) because nothing changed since: correct data, so allowed; but
        // only at the database's version.
        const outageVersions = await stack.versionsIfReachable(sessions.map((s) => s.id));
        const shared = connects.filter((c) => c.snapshotVersion !== undefined);
        const badConnects = connects.filter((c) =>
          c.snapshotVersion !== undefined ? outageVersions !== undefined && c.snapshotVersion !== outageVersions.get(c.sessionId) : !c.unavailable || c.code !== 1013 || c.ms > CONNECT_BOUND_MS,
        );
        guarantees.check(badConnects.length === 0, `${mode}: ${badConnects.length} of ${connects.length} connects got neither session_unavailable + 1013 within ${CONNECT_BOUND_MS} ms nor a current snapshot (${JSON.stringify(badConnects[0])})`);
        guarantees.check(healthz === probes, `${mode}: /healthz answered 200 to ${healthz} of ${probes} probes`);
        guarantees.check(readyz === probes, `${mode}: /readyz answered 503 to ${readyz} of ${probes} probes`);
        guarantees.check(!exited, `${mode}: the process is alive`);
        // After: a write goes through (retried while the pool recovers), and every client holds it.
        const recovered = performance.now();
        let written: number | undefined;
        while (written === undefined && performance.now() - recovered < 20_000) {
          const reply = await api.request('PATCH', `/sessions/${sessions[0].id}/interactions/${sessions[0].interactions[0].id}`, { append: `after ${mode};` });
          if (reply.status === 200) written = reply.body.version as number;
          else await sleep(100);
        }
        const writeOk = Math.round(performance.now() - recovered);
        guarantees.check(written !== undefined, `${mode}: no write succeeded within 20 s after the database came back`);
        await sleep(500); // statements held in the black hole are delivered and committed on resume
        const dbVersions = await stack.versions(sessions.map((s) => s.id));
        const converged = await timeUntil(() => followers.every((f) => f.version >= (dbVersions.get(f.sessionId) ?? 0)), 10_000);
        guarantees.check(converged >= 0, `${mode}: clients did not converge on the database within 10 s after it came back`);
        const fresh = await connectOnce(service.wsBase, sessions[0].id, stack.apiKey);
        guarantees.check((fresh.snapshotVersion ?? 0) >= dbVersions.get(sessions[0].id)!, `${mode}: a new connect after the outage got version ${fresh.snapshotVersion}, the database had ${dbVersions.get(sessions[0].id)} before it`);
        const statuses = [...new Set(rest.map((r) => r.status))].join('/');
        log(`${mode}: ${rest.length} REST calls (${statuses}), ${connects.length} connects, ${probes} health probes`);
        figures[`${mode}: REST answers (status)`] = `${rest.length} (${statuses})`;
        figures[`${mode}: REST slowest (ms)`] = Math.max(...rest.map((r) => r.ms));
        figures[`${mode}: connects during the outage: session_unavailable + 1013 / served a still-shared snapshot`] = `${connects.length - shared.length} / ${shared.length}`;
        figures[`${mode}: connect → session_unavailable + 1013, slowest (ms)`] = Math.max(0, ...connects.filter((c) => c.unavailable).map((c) => c.ms));
        figures[`${mode}: first successful write after the outage (ms)`] = writeOk;
        figures[`${mode}: clients converged after that (ms)`] = converged;
      }
      for (const follower of followers) follower.stop();
      guarantees.check(followers.every((f) => f.disorder.length === 0), 'no client saw a frame out of order');
      return figures;
    } finally {
      await stack.dispose();
    }
  },
};

type Call = [string, () => Promise<{ status: number; json: boolean; retryAfter: boolean }>];

/** One of each kind of REST call, reads and writes. */
function restCalls(api: { baseUrl: string; key: string }, sessions: Session[], n: number): Call[] {
  const session = sessions[n % sessions.length];
  const call = (method: string, path: string, body?: unknown): Call => [
    `${method} ${path.replace(/[0-9a-f-]{36}/g, ':id')}`,
    async () => {
      const response = await fetch(`${api.baseUrl}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${api.key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(60_000),
      }).catch(() => undefined);
      if (!response) return { status: 0, json: false, retryAfter: false };
      const text = await response.text();
      let json = false;
      try {
        json = typeof JSON.parse(text) === 'object';
      } catch {
        json = false;
      }
      return { status: response.status, json, retryAfter: response.headers.has('retry-after') };
    },
  ];
  return [
    call('GET', '/sessions'),
    call('GET', `/sessions/${session.id}`),
    call('POST', '/sessions', { name: 'during outage' }),
    call('PATCH', `/sessions/${session.id}`, { name: `renamed ${n}` }),
    call('POST', `/sessions/${session.id}/interactions`, { prompt_message: 'during outage' }),
    call('PATCH', `/sessions/${session.id}/interactions/${session.interactions[0].id}`, { append: 'x' }),
  ];
}

/** Opens one connection and waits for its end (or its snapshot). */
function connectOnce(wsBase: string, sessionId: string, key: string): Promise<{ sessionId: string; ms: number; unavailable: boolean; code: number; snapshotVersion?: number }> {
  return new Promise((resolve) => {
    const start = performance.now();
    const socket = new WebSocket(`${wsBase}${WS_PATH}?session_id=${sessionId}&access_token=${encodeURIComponent(key)}`);
    let unavailable = false;
    let snapshotVersion: number | undefined;
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; error?: { code: string }; version?: number };
      if (frame.error?.code === ErrorCode.SessionUnavailable) unavailable = true;
      if (frame.type === 'session_update' && snapshotVersion === undefined) {
        snapshotVersion = frame.version;
        socket.close();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', (code) => resolve({ sessionId, ms: Math.round(performance.now() - start), unavailable, code, snapshotVersion }));
    setTimeout(() => socket.terminate(), 15_000).unref();
  });
}
