import WebSocket from 'ws';
import { WS_PATH, type Session } from '../../src/protocol/protocol.js';
import { Api } from '../../test/helpers/api.js';
import { readGauges } from '../lib/gauges.js';
import { Random, deepJson } from '../lib/random.js';
import { sleep, type Scenario } from '../lib/scenario.js';
import { Stack } from '../lib/stack.js';

const RSS_GROWTH_BOUND = 150 * 1024 * 1024;

/**
 * Random client frames and random REST requests against one service: 0 crashes, 0 5xx,
 * every error a JSON body, a deliberately wrong field named in its 400, the other user's
 * data unchanged, RSS growth bounded. The seed is printed; CHAOS_SEED=<n> replays a run.
 */
export const fuzz: Scenario = {
  name: 'fuzz',
  async run({ quick, log }, guarantees) {
    const frames = quick ? 2000 : 10_000;
    const requests = quick ? 600 : 5000;
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
    const random = new Random(seed);
    log(`seed ${seed}`);
    const stack = await Stack.create();
    try {
      const service = await stack.start({ WS_MAX_PAYLOAD: '64kb', BODY_LIMIT: '256kb' });
      let exited = false;
      void service.exited.then(() => (exited = true));
      const alice = service.api(stack.apiKey);
      const bobUser = await stack.createUser('bob');
      const bob = new Api(service.baseUrl, bobUser.api_key);
      const mine: Session[] = [];
      const theirs: Session[] = [];
      for (let i = 0; i < 3; i++) {
        const own = await alice.createSession(`alice ${i}`);
        await alice.addInteraction(own.id, 'a');
        mine.push(await alice.getSession(own.id));
        const other = await bob.createSession(`bob ${i}`);
        await bob.addInteraction(other.id, 'b');
        theirs.push(await bob.getSession(other.id));
      }
      const bobBefore = JSON.stringify(await Promise.all(theirs.map((s) => bob.getSession(s.id))));
      await sleep(500);
      const rssBefore = (await readGauges(service.baseUrl)).rss;

      // WebSocket frames, over a pool of connections that are replaced as they close.
      const ws = await fuzzFrames(service.wsBase, mine, stack.apiKey, frames, random);
      guarantees.check(!exited, 'the process survived the frame fuzz');

      // REST requests.
      const statuses = new Map<number, number>();
      let notJson = 0;
      let fieldNotNamed: string[] = [];
      for (let n = 0; n < requests; n++) {
        const request = restRequest(random, mine, theirs, n);
        const response = await fetch(`${service.baseUrl}${request.path}`, {
          method: request.method,
          headers: { authorization: `Bearer ${stack.apiKey}`, ...request.headers },
          body: request.body,
        }).catch((error: unknown) => ({ status: -1, error }) as const);
        if ('error' in response) {
          statuses.set(-1, (statuses.get(-1) ?? 0) + 1);
          continue;
        }
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const text = await response.text();
        if (response.status >= 400 && request.method !== 'HEAD') {
          let body: { statusCode?: number; message?: unknown } | undefined;
          try {
            body = JSON.parse(text) as typeof body;
          } catch {
            body = undefined;
          }
          if (!body || body.statusCode !== response.status || body.message === undefined) notJson++;
          else if (request.wrongField && response.status === 400 && !JSON.stringify(body.message).includes(request.wrongField)) {
            fieldNotNamed.push(`${request.method} ${request.path} wrong ${request.wrongField}: ${JSON.stringify(body.message).slice(0, 120)}`);
          }
        }
      }
      fieldNotNamed = fieldNotNamed.slice(0, 5);
      const fiveHundreds = [...statuses].filter(([status]) => status >= 500 || status === -1).reduce((sum, [, count]) => sum + count, 0);
      guarantees.check(fiveHundreds === 0, `${fiveHundreds} REST requests answered 5xx or failed`);
      guarantees.check(notJson === 0, `${notJson} REST errors were not a JSON {statusCode, error, message}`);
      guarantees.check(fieldNotNamed.length === 0, `400s that did not name the wrong field: ${fieldNotNamed.join(' | ')}`);
      guarantees.check(!exited, 'the process survived the REST fuzz');
      const bobAfter = JSON.stringify(await Promise.all(theirs.map((s) => bob.getSession(s.id))));
      guarantees.check(bobAfter === bobBefore, "the other user's sessions are unchanged");
      const rssAfter = (await readGauges(service.baseUrl)).rss;
      guarantees.check(rssAfter - rssBefore < RSS_GROWTH_BOUND, `RSS grew by ${Math.round((rssAfter - rssBefore) / 1048576)} MiB (bound ${RSS_GROWTH_BOUND / 1048576} MiB)`);
      const health = await fetch(`${service.baseUrl}/healthz`).then((r) => r.status, () => 0);
      guarantees.check(health === 200, `/healthz answered ${health} after the fuzz`);
      return {
        seed,
        'frames sent': ws.sent,
        'error frames received': ws.errors,
        'connections used (closed by the server: codes)': `${ws.connections} (${[...ws.closeCodes].map(([code, count]) => `${code}×${count}`).join(' ')})`,
        'REST requests': requests,
        'REST statuses': [...statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' '),
        'REST 5xx': fiveHundreds,
        'RSS growth (MiB)': Math.round((rssAfter - rssBefore) / 1048576),
      };
    } finally {
      await stack.dispose();
    }
  },
};

async function fuzzFrames(wsBase: string, sessions: Session[], key: string, total: number, random: Random) {
  let sent = 0;
  let errors = 0;
  let connections = 0;
  const closeCodes = new Map<number, number>();
  const open = () =>
    new Promise<WebSocket>((resolve) => {
      connections++;
      const socket = new WebSocket(`${wsBase}${WS_PATH}?session_id=${random.pick(sessions).id}&access_token=${encodeURIComponent(key)}`, { maxPayload: 64 * 1024 * 1024 });
      socket.on('message', (data) => {
        if (data.toString().includes('"type":"error"')) errors++;
      });
      socket.on('error', () => undefined);
      socket.on('close', (code) => closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1));
      socket.once('open', () => resolve(socket));
      socket.once('close', () => resolve(socket));
    });
  const pool: WebSocket[] = [];
  for (let i = 0; i < 8; i++) pool.push(await open());
  while (sent < total) {
    const slot = random.int(pool.length);
    if (pool[slot].readyState !== WebSocket.OPEN) {
      pool[slot] = await open();
      continue;
    }
    const frame = randomFrame(random);
    pool[slot].send(frame.data, { binary: frame.binary });
    sent++;
    if (sent % 200 === 0) await sleep(20);
  }
  await sleep(500);
  for (const socket of pool) socket.terminate();
  return { sent, errors, connections, closeCodes };
}

function randomFrame(random: Random): { data: Buffer | string; binary: boolean } {
  switch (random.int(9)) {
    case 0: return { data: random.bytes(random.int(200)), binary: true };
    case 1: return { data: random.bytes(random.int(200)), binary: false };
    case 2: return { data: deepJson(random.pick([100, 5000, 30_000]), random.chance(0.5)), binary: false };
    case 3: return { data: JSON.stringify({ type: 'ping', pad: 'x'.repeat(random.pick([60_000, 70_000, 1_000_000])) }), binary: false };
    case 4: return { data: '{"__proto__":{"type":"sync","polluted":1},"constructor":{"prototype":{"x":1}}}', binary: false };
    case 5: return { data: JSON.stringify({ type: random.pick(['sync', 'ping', 'SYNC', '', null, 1, {}]) }), binary: false };
    case 6: return { data: JSON.stringify(random.value(4)), binary: false };
    case 7: return { data: random.string(random.int(100)), binary: false };
    default: return { data: '', binary: random.chance(0.5) };
  }
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Set when the body holds exactly one deliberately wrong field, which a 400 must name. */
  wrongField?: string;
}

const MALFORMED = ['abc', '%00', '..', '00000000-0000-4000-8000-00000000000G', 'A'.repeat(300), '%E0%A4%A', "1'%20OR%201=1", '00000000-0000-4000-8000-000000000000'];

function restRequest(random: Random, mine: Session[], theirs: Session[], n: number): FuzzRequest {
  const own = random.pick(mine);
  const session = random.chance(0.2) ? random.pick(theirs) : own;
  const id = random.chance(0.8) ? session.id : random.pick(MALFORMED);
  const iid = random.chance(0.8) ? (session.interactions[0]?.id ?? 'x') : random.pick(MALFORMED);
  const paths = ['/sessions', `/sessions/${id}`, `/sessions/${id}/interactions`, `/sessions/${id}/interactions/${iid}`, `/sessions/${id}/interactions/${iid}/x`, '/nope'];
  const query = random.chance(0.3) ? random.pick(['?limit=0', '?limit=-1', '?limit=1e3', '?limit=abc', '?cursor=%00', '?cursor=' + 'A'.repeat(500), '?limit=1&limit=2', '?cursor[a]=1', '?__proto__[x]=1', '?limit=%FF']) : '';
  const method = random.pick(['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'POST']);
  const headers: Record<string, string> = {};
  if (random.chance(0.2)) headers[random.pick(['x-garbage', 'accept', 'accept-encoding', 'if-none-match', 'range', 'x-forwarded-for'])] = random.pick(['*/*', 'bytes=0-1', '\u00ff', 'a'.repeat(4000), 'gzip;q=x', '"etag"', '999.999.999.999']);
  const base = `/api/v1${random.pick(paths)}${query}`;
  // Every third write gets a body with one deliberately wrong field among good ones.
  if ((method === 'POST' || method === 'PATCH') && n % 3 === 0 && id === session.id && session === own) {
    const target = random.pick(['name', 'prompt_message', 'append', 'state', 'error', 'response_message']);
    const wrong = random.pick([12, null, ['x'], { a: 1 }, 'a\u0000b', ...(target === 'state' ? ['done'] : [])]);
    const path = target === 'name' ? `/api/v1/sessions/${own.id}` : target === 'prompt_message' ? `/api/v1/sessions/${own.id}/interactions` : `/api/v1/sessions/${own.id}/interactions/${own.interactions[0].id}`;
    const verb = target === 'prompt_message' ? 'POST' : 'PATCH';
    return { method: verb, path, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ [target]: wrong }), wrongField: target };
  }
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || random.chance(0.1)) return { method, path: base, headers };
  const kind = random.int(7);
  const contentType = random.pick(['application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', 'application/merge-patch+json']);
  const body =
    kind === 0 ? JSON.stringify(random.value(3))
    : kind === 1 ? deepJson(random.pick([40, 2000, 20_000]), random.chance(0.5))
    : kind === 2 ? random.string(random.int(300))
    : kind === 3 ? JSON.stringify({ name: random.string(10), prompt_message: random.string(10), append: random.string(5) })
    : kind === 4 ? JSON.stringify({ append: 'x'.repeat(300_000) })
    : kind === 5 ? '{"a":'
    : JSON.stringify({ state: random.pick(['complete', 'error', 'bogus']), error: random.string(20) });
  return { method, path: base, headers: { ...headers, 'content-type': contentType }, body };
}
