import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CloseCode, WS_PATH } from '../src/protocol/protocol.js';
import { Api } from './helpers/api.js';
import { TestApp, useTestApp } from './helpers/app.js';
import { TestSocket } from './helpers/ws.js';

const EVIL = 'http://evil.example';

function socket(app: TestApp, query: string, headers: Record<string, string>): TestSocket {
  return new TestSocket(`${app.wsBase}${WS_PATH}?${query}`, { headers });
}

/** A page of another site can make a browser send the `access_token` cookie: such requests need an allowed Origin. */
describe('origin check, default (same origin)', () => {
  const fx = useTestApp('cookie user');
  const self = () => fx.app.baseUrl;
  const cookie = () => `access_token=${encodeURIComponent(fx.user.key)}`;

  it('closes a cookie-authenticated upgrade from another origin with 4403, after accepting it', async () => {
    const session = await fx.user.createSession('guarded');
    const client = socket(fx.app, `session_id=${session.id}`, { cookie: cookie(), origin: EVIL });
    await client.opened;
    expect(await client.closed).toEqual({ code: CloseCode.OriginNotAllowed, reason: expect.any(String) });
    expect(client.frames).toEqual([]);
  });

  it('lets the same origin in with the cookie, and anyone in with a header or query key or without Origin', async () => {
    const session = await fx.user.createSession('open');
    const clients = [
      socket(fx.app, `session_id=${session.id}`, { cookie: cookie(), origin: self() }),
      socket(fx.app, `session_id=${session.id}`, { authorization: `Bearer ${fx.user.key}`, origin: EVIL }),
      socket(fx.app, `session_id=${session.id}&access_token=${encodeURIComponent(fx.user.key)}`, { origin: EVIL }),
      socket(fx.app, `session_id=${session.id}`, { cookie: cookie() }),
    ];
    for (const client of clients) {
      expect(await client.next()).toMatchObject({ type: 'session_update', snapshot: true, session: { id: session.id } });
      client.close();
    }
  });

  it('checks the key first (4401), then the origin (4403), then the parameters (4400)', async () => {
    const badKey = socket(fx.app, 'session_id=nope', { cookie: 'access_token=sk_000000000000_nope', origin: EVIL });
    expect((await badKey.closed).code).toBe(CloseCode.Unauthorized);
    const badParams = socket(fx.app, 'session_id=nope', { cookie: cookie(), origin: EVIL });
    expect((await badParams.closed).code).toBe(CloseCode.OriginNotAllowed);
    const sameOriginBadParams = socket(fx.app, 'session_id=nope', { cookie: cookie(), origin: self() });
    expect((await sameOriginBadParams.closed).code).toBe(CloseCode.BadSessionId);
  });

  it('answers a cookie-authenticated REST call from another origin with 403 JSON and changes nothing', async () => {
    const asCookie = new Api(fx.app.baseUrl, '');
    const before = (await fx.user.listSessions()).sessions.length;
    const refused = await asCookie.request('POST', '/sessions', { name: 'forged' }, { cookie: cookie(), origin: EVIL });
    expect(refused).toEqual({ status: 403, body: { statusCode: 403, error: 'Forbidden', message: expect.stringMatching(/origin/) } });
    expect((await fx.user.listSessions()).sessions.length).toBe(before);

    expect((await asCookie.request('POST', '/sessions', { name: 'mine' }, { cookie: cookie(), origin: self() })).status).toBe(201);
    expect((await asCookie.request('GET', '/sessions', undefined, { cookie: cookie() })).status).toBe(200);
    expect((await fx.user.request('POST', '/sessions', { name: 'agent' }, { origin: EVIL })).status).toBe(201);
    expect((await fx.user.listSessions()).sessions.length).toBe(before + 2);
  });
});

describe('origin check with ALLOWED_ORIGINS', () => {
  let app: TestApp;
  let user: Api & { userId: string };
  beforeAll(async () => {
    app = await TestApp.start({ ALLOWED_ORIGINS: 'https://App.Example.com, http://localhost:5173' });
    user = await app.newUser('listed');
  });
  afterAll(() => app?.close());

  it('accepts exactly the listed origins, case-insensitively; the service\'s own origin is no longer implied', async () => {
    const session = await user.createSession('listed');
    const cookie = `access_token=${encodeURIComponent(user.key)}`;
    const listed = socket(app, `session_id=${session.id}`, { cookie, origin: 'https://app.EXAMPLE.com' });
    expect(await listed.next()).toMatchObject({ snapshot: true });
    listed.close();
    const own = socket(app, `session_id=${session.id}`, { cookie, origin: app.baseUrl });
    expect((await own.closed).code).toBe(CloseCode.OriginNotAllowed);
    const asCookie = new Api(app.baseUrl, '');
    expect((await asCookie.request('GET', '/sessions', undefined, { cookie, origin: 'http://localhost:5173' })).status).toBe(200);
    expect((await asCookie.request('GET', '/sessions', undefined, { cookie, origin: app.baseUrl })).status).toBe(403);
  });
});
