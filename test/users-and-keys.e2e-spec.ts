import { describe, expect, it } from '@jest/globals';
import { CloseCode } from '../src/protocol/protocol.js';
import { Api } from './helpers/api.js';
import { useTestApp } from './helpers/app.js';
import { TestSocket } from './helpers/ws.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Users and keys over REST: the admin creates and revokes, a user lists and rotates their own. */
describe('users and keys', () => {
  const fx = useTestApp('someone');
  const admin = () => new Api(fx.app.baseUrl, fx.app.adminKey);

  it('the first user (the start-up admin) is the admin; users it creates are not', async () => {
    expect((await admin().request('GET', '/users/me')).body).toMatchObject({ name: 'admin', is_admin: true });
    const created = await admin().request('POST', '/users', { name: '  alice  ' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      user_id: expect.stringMatching(UUID),
      api_key: expect.stringMatching(/^sk_[0-9a-f]{12}_/),
      user: { id: created.body.user_id, name: 'alice', is_admin: false, created: expect.any(String) },
      key: { id: expect.stringMatching(UUID), user_id: created.body.user_id, prefix: created.body.api_key.slice(3, 15), created: expect.any(String), revoked_at: null },
    });
    const alice = new Api(fx.app.baseUrl, created.body.api_key);
    expect((await alice.request('GET', '/users/me')).body).toMatchObject({ id: created.body.user_id, is_admin: false });
    expect((await alice.request('POST', '/sessions', { name: 'hers' })).status).toBe(201);
    const users = await admin().request('GET', '/users');
    expect(users.body.users.map((user: { name: string }) => user.name)).toEqual(expect.arrayContaining(['admin', 'someone', 'alice']));
  });

  it('answers 403 to a non-admin on every admin route, and changes nothing', async () => {
    const user = fx.user;
    const adminId = (await admin().request('GET', '/users/me')).body.id;
    const adminKeys = (await admin().request('GET', `/users/${adminId}/keys`)).body.keys;
    const before = (await admin().request('GET', '/users')).body.users.length;
    for (const [method, path, body] of [
      ['POST', '/users', { name: 'mallory' }],
      ['GET', '/users', undefined],
      ['POST', `/users/${user.userId}/keys`, undefined],
      ['POST', `/users/${adminId}/keys`, undefined],
      ['GET', `/users/${adminId}/keys`, undefined],
      ['GET', `/users/${adminId}`, undefined],
      ['DELETE', `/keys/${adminKeys[0].id}`, undefined],
    ] as const) {
      const reply = await user.request(method, path, body);
      expect([method, path, reply.status, reply.body]).toEqual([method, path, 403, { statusCode: 403, error: 'Forbidden', message: expect.any(String) }]);
    }
    expect((await admin().request('GET', '/users')).body.users).toHaveLength(before);
    expect((await admin().request('GET', `/users/${adminId}/keys`)).body.keys).toEqual(adminKeys);
    expect((await admin().request('GET', '/sessions')).status).toBe(200);
  });

  it('validates: a bad name is a 400 naming the field; an unknown or malformed id is a 404', async () => {
    const blank = await admin().request('POST', '/users', { name: '   ' });
    expect(blank.status).toBe(400);
    expect(blank.body.message).toEqual([expect.stringMatching(/^name/)]);
    expect((await admin().request('POST', '/users', { name: 'x', extra: 1 })).status).toBe(400);
    expect((await admin().request('POST', `/users/${crypto.randomUUID()}/keys`)).status).toBe(404);
    expect((await admin().request('GET', '/users/not-a-uuid/keys')).status).toBe(404);
    expect((await admin().request('DELETE', `/keys/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await fx.user.request('GET', '/users/me', undefined, { authorization: 'Bearer sk_000000000000_nope' })).status).toBe(401);
  });

  it('lists a user\'s keys by prefix, never the key or its hash; the user may list their own', async () => {
    const created = await admin().request('POST', `/users/${fx.user.userId}/keys`);
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.stringMatching(UUID), user_id: fx.user.userId, prefix: created.body.api_key.slice(3, 15), created: expect.any(String), revoked_at: null, api_key: expect.stringMatching(/^sk_/) });
    for (const api of [admin(), fx.user]) {
      const listed = await api.request('GET', `/users/${fx.user.userId}/keys`);
      expect(listed.status).toBe(200);
      expect(listed.body.keys).toContainEqual({ id: created.body.id, user_id: fx.user.userId, prefix: created.body.prefix, created: created.body.created, revoked_at: null });
      const text = JSON.stringify(listed.body);
      expect(text).not.toContain(created.body.api_key);
      expect(text).not.toContain(fx.user.key);
      for (const key of listed.body.keys) expect(Object.keys(key).sort()).toEqual(['created', 'id', 'prefix', 'revoked_at', 'user_id']);
    }
    // The new key works like the first.
    expect((await new Api(fx.app.baseUrl, created.body.api_key).request('GET', '/sessions')).status).toBe(200);
  });

  it('revoking a key refuses it at once and closes its open sockets with 4401; the user\'s other keys go on', async () => {
    const user = await fx.app.newUser('revokee');
    const second = (await admin().request('POST', `/users/${user.userId}/keys`)).body;
    const session = await user.createSession('watched');
    const doomed = TestSocket.connect(fx.app.wsBase, session.id, user.key);
    const spared = TestSocket.connect(fx.app.wsBase, session.id, second.api_key);
    await doomed.next();
    await spared.next();
    const keys = (await admin().request('GET', `/users/${user.userId}/keys`)).body.keys;
    const doomedKey = keys.find((key: { prefix: string }) => key.prefix === user.key.slice(3, 15));

    expect((await admin().request('DELETE', `/keys/${doomedKey.id}`)).status).toBe(204);
    expect(await doomed.closed).toEqual({ code: CloseCode.Unauthorized, reason: expect.any(String) });
    expect((await user.request('GET', '/sessions')).status).toBe(401);
    const late = TestSocket.connect(fx.app.wsBase, session.id, user.key);
    expect((await late.closed).code).toBe(CloseCode.Unauthorized);
    expect(spared.isClosed).toBe(false);
    expect((await new Api(fx.app.baseUrl, second.api_key).request('GET', `/sessions/${session.id}`)).status).toBe(200);

    const listed = (await admin().request('GET', `/users/${user.userId}/keys`)).body.keys;
    expect(listed.find((key: { id: string }) => key.id === doomedKey.id).revoked_at).toEqual(expect.any(String));
    // Revoking twice: the key is no longer live.
    expect((await admin().request('DELETE', `/keys/${doomedKey.id}`)).status).toBe(404);
    spared.close();
  });

  it('a user rotates their own key: the new one is shown once and works, the old one is refused and its sockets closed', async () => {
    const user = await fx.app.newUser('rotator');
    const session = await user.createSession('mine');
    const socket = TestSocket.connect(fx.app.wsBase, session.id, user.key);
    await socket.next();
    const rotated = await user.request('POST', '/keys/rotate');
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({ user_id: user.userId, api_key: expect.stringMatching(/^sk_/), revoked_at: null });
    expect(rotated.body.api_key).not.toBe(user.key);
    expect((await socket.closed).code).toBe(CloseCode.Unauthorized);
    expect((await user.request('GET', '/sessions')).status).toBe(401);
    expect((await user.request('POST', '/keys/rotate')).status).toBe(401);
    const renewed = new Api(fx.app.baseUrl, rotated.body.api_key);
    expect((await renewed.getSession(session.id)).id).toBe(session.id);
    const keys = (await renewed.request('GET', `/users/${user.userId}/keys`)).body.keys;
    expect(keys.map((key: { revoked_at: string | null }) => key.revoked_at !== null)).toEqual([true, false]);
  });
});
