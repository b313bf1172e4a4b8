import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Api } from './helpers/api.js';
import { TestApp } from './helpers/app.js';

const MISSING = '00000000-0000-4000-8000-000000000000';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('REST API /api/v1', () => {
  let app: TestApp;
  let alice: Api & { userId: string };
  let bob: Api & { userId: string };

  beforeAll(async () => {
    app = await TestApp.start({ BODY_LIMIT: '4kb' });
    alice = await app.newUser('alice');
    bob = await app.newUser('bob');
  });
  afterAll(() => app?.close());

  const expectError = (reply: { status: number; body: any }, status: number, message?: RegExp) => {
    expect(reply.status).toBe(status);
    expect(reply.body).toEqual({ statusCode: status, error: expect.any(String), message: expect.anything() });
    if (message) expect([reply.body.message].flat().join('; ')).toMatch(message);
  };

  describe('auth', () => {
    it('accepts the key as Bearer header, access_token query or access_token cookie', async () => {
      const none = new Api(app.baseUrl, '');
      expect((await alice.request('GET', '/sessions')).status).toBe(200);
      expect((await none.request('GET', `/sessions?access_token=${alice.key}`)).status).toBe(200);
      expect((await none.request('GET', '/sessions', undefined, { cookie: `a=b; access_token=${alice.key}` })).status).toBe(200);
    });

    it('answers 401 without a key, with a wrong key, and with a non-Bearer header even when the query holds a good key', async () => {
      const none = new Api(app.baseUrl, '');
      expectError(await none.request('GET', '/sessions'), 401, /API key/);
      expectError(await new Api(app.baseUrl, 'sk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA').request('GET', '/sessions'), 401);
      expectError(await none.request('GET', `/sessions?access_token=${alice.key}`, undefined, { authorization: `Basic ${alice.key}` }), 401);
      expectError(await none.request('GET', `/sessions?access_token=nope`, undefined, { cookie: `access_token=${alice.key}` }), 401);
    });

    it('serves health and readiness without a key', async () => {
      expect((await fetch(`${app.baseUrl}/healthz`)).status).toBe(200);
      const ready = await fetch(`${app.baseUrl}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ok', database: 'ok', bus: 'ok' });
    });
  });

  describe('sessions', () => {
    it('creates a session at version 1 with canonical ids and RFC 3339 times', async () => {
      const reply = await alice.request('POST', '/sessions', { name: 'first' });
      expect(reply.status).toBe(201);
      expect(reply.body).toEqual({ id: expect.stringMatching(UUID), name: 'first', owner: alice.userId, version: 1, created: expect.stringMatching(ISO), updated: expect.stringMatching(ISO), interactions: [] });
      expect(await alice.getSession(reply.body.id)).toEqual(reply.body);
    });

    it.each([
      [{}, /name/],
      [{ name: '' }, /name must be longer than or equal to 1/],
      [{ name: 'x'.repeat(201) }, /name must be shorter than or equal to 200/],
      [{ name: 42 }, /name must be a string/],
      [{ name: null }, /name/],
      [{ name: 'ok', extra: 1 }, /property extra should not exist/],
    ])('rejects the body %j with 400 naming the field', async (body, message) => {
      expectError(await alice.request('POST', '/sessions', body), 400, message);
    });

    it('rejects invalid JSON with 400 and a body over BODY_LIMIT with 413, creating nothing', async () => {
      const before = (await alice.listSessions('?limit=200')).sessions.length;
      expectError(await alice.request('POST', '/sessions', '{"name": "x'), 400);
      expectError(await alice.request('POST', '/sessions', { name: 'y'.repeat(8000) }), 413);
      expect((await alice.listSessions('?limit=200')).sessions.length).toBe(before);
    });

    it('lists only the caller’s sessions, newest updated first, paginated by cursor', async () => {
      const user = await app.newUser('lister');
      const made = [];
      for (let i = 0; i < 5; i++) made.push(await user.createSession(`s${i}`));
      await user.renameSession(made[1].id, 'touched last');
      await bob.createSession('not yours');
      const first = await user.listSessions('?limit=2');
      expect(first.sessions.map((s) => s.id)).toEqual([made[1].id, made[4].id]);
      expect(first.sessions[0]).not.toHaveProperty('interactions');
      expect(first.next_cursor).toEqual(expect.any(String));
      const second = await user.listSessions(`?limit=2&cursor=${first.next_cursor}`);
      expect(second.sessions.map((s) => s.id)).toEqual([made[3].id, made[2].id]);
      const third = await user.listSessions(`?limit=2&cursor=${second.next_cursor}`);
      expect(third).toEqual({ sessions: [expect.objectContaining({ id: made[0].id })], next_cursor: null });
      expect((await user.listSessions()).sessions).toHaveLength(5);
    });

    it.each(['0', '201', '-1', '1.5', 'abc', ''])('rejects limit=%s with 400', async (limit) => {
      expectError(await alice.request('GET', `/sessions?limit=${limit}`), 400, /limit/);
    });

    it('rejects a forged cursor with 400', async () => {
      expectError(await alice.request('GET', '/sessions?cursor=bm90LWEtY3Vyc29y'), 400, /cursor/);
    });

    it('renames with a new version and returns the session with its interactions', async () => {
      const session = await alice.createSession('old');
      const interaction = await alice.addInteraction(session.id, 'q');
      const renamed = await alice.renameSession(session.id, 'new');
      expect(renamed).toMatchObject({ id: session.id, name: 'new', version: 3, interactions: [interaction] });
      expectError(await alice.request('PATCH', `/sessions/${session.id}`, { name: '' }), 400, /name/);
      expect((await alice.getSession(session.id)).version).toBe(3);
    });

    it('deletes with 204, after which the session is 404', async () => {
      const session = await alice.createSession();
      await alice.addInteraction(session.id);
      expect((await alice.request('DELETE', `/sessions/${session.id}`)).status).toBe(204);
      expectError(await alice.request('GET', `/sessions/${session.id}`), 404);
      expectError(await alice.request('DELETE', `/sessions/${session.id}`), 404);
    });

    it('answers a foreign session exactly like a missing one, and changes nothing', async () => {
      const session = await bob.createSession('bob’s');
      const interaction = await bob.addInteraction(session.id);
      const attempts = [
        ['GET', `/sessions/ID`, undefined],
        ['PATCH', `/sessions/ID`, { name: 'mine now' }],
        ['DELETE', `/sessions/ID`, undefined],
        ['POST', `/sessions/ID/interactions`, { prompt_message: 'hi' }],
        ['PATCH', `/sessions/ID/interactions/${interaction.id}`, { append: 'x' }],
      ] as const;
      for (const [method, path, body] of attempts) {
        const foreign = await alice.request(method, path.replace('ID', session.id), body);
        const missing = await alice.request(method, path.replace('ID', MISSING), body);
        expect(foreign).toEqual(missing);
        expectError(foreign, 404);
      }
      expect(await bob.getSession(session.id)).toMatchObject({ name: 'bob’s', version: 2, interactions: [interaction] });
    });

    it.each(['abc', MISSING.toUpperCase(), MISSING.replace(/-/g, '')])('answers a malformed id (%s) with 404', async (id) => {
      expectError(await alice.request('GET', `/sessions/${id}`), 404);
      expectError(await alice.request('PATCH', `/sessions/${id}`, { name: 'x' }), 404);
      expectError(await alice.request('DELETE', `/sessions/${id}`), 404);
      expectError(await alice.request('POST', `/sessions/${id}/interactions`, { prompt_message: 'x' }), 404);
    });
  });

  describe('interactions', () => {
    it('adds an interaction in state waiting and bumps the session version', async () => {
      const session = await alice.createSession();
      const reply = await alice.request('POST', `/sessions/${session.id}/interactions`, { prompt_message: 'What is up?' });
      expect(reply.status).toBe(201);
      expect(reply.body).toEqual({
        id: expect.stringMatching(UUID),
        session_id: session.id,
        created: expect.stringMatching(ISO),
        updated: expect.stringMatching(ISO),
        prompt_message: 'What is up?',
        response_message: '',
        state: 'waiting',
        error: '',
        version: 2,
      });
      const second = await alice.addInteraction(session.id, 'second');
      const stored = await alice.getSession(session.id);
      expect(stored.version).toBe(3);
      expect(stored.interactions.map((i) => i.id)).toEqual([reply.body.id, second.id]);
    });

    it.each([
      [{}, /prompt_message/],
      [{ prompt_message: '' }, /prompt_message must be longer than or equal to 1/],
      [{ prompt_message: 7 }, /prompt_message must be a string/],
    ])('rejects the prompt body %j with 400', async (body, message) => {
      const session = await alice.createSession();
      expectError(await alice.request('POST', `/sessions/${session.id}/interactions`, body), 400, message);
      expect((await alice.getSession(session.id)).version).toBe(1);
    });

    it('rejects a prompt over 100,000 characters', async () => {
      // BODY_LIMIT is 4 KiB in this app, so the length rule is checked on an app with the default limit.
      const roomy = await TestApp.start();
      try {
        const user = await roomy.newUser('roomy');
        const own = await user.createSession();
        expectError(await user.request('POST', `/sessions/${own.id}/interactions`, { prompt_message: 'p'.repeat(100_001) }), 400, /prompt_message must be shorter than or equal to 100000/);
        expect((await user.request('POST', `/sessions/${own.id}/interactions`, { prompt_message: 'p'.repeat(100_000) })).status).toBe(201);
      } finally {
        await roomy.close();
      }
    });

    it('patches response_message, append, state and error, each a new version of the session and the interaction', async () => {
      const session = await alice.createSession();
      const interaction = await alice.addInteraction(session.id);
      const other = await alice.addInteraction(session.id);
      expect(await alice.updateInteraction(session.id, interaction.id, { response_message: 'Hel' })).toMatchObject({ response_message: 'Hel', version: 4 });
      expect(await alice.updateInteraction(session.id, interaction.id, { append: 'lo', state: 'editing' })).toMatchObject({ response_message: 'Hello', state: 'editing', version: 5 });
      const failed = await alice.updateInteraction(session.id, interaction.id, { state: 'error', error: 'model overloaded' });
      expect(failed).toMatchObject({ id: interaction.id, response_message: 'Hello', state: 'error', error: 'model overloaded', created: interaction.created, version: 6 });
      const stored = await alice.getSession(session.id);
      expect(stored.version).toBe(6);
      expect(stored.interactions.map((i) => i.version)).toEqual([6, other.version]);
      expect(other.version).toBe(3);
    });

    it.each([
      [{}, /at least one of/],
      [{ response_message: 'a', append: 'b' }, /cannot be used together/],
      [{ state: 'done' }, /state must be one of/],
      [{ state: null }, /state/],
      [{ append: '' }, /append must be longer than or equal to 1/],
      [{ error: 5 }, /error must be a string/],
      [{ response_message: 'x', other: true }, /property other should not exist/],
    ])('rejects the patch %j with 400 and changes nothing', async (body, message) => {
      const session = await alice.createSession();
      const interaction = await alice.addInteraction(session.id);
      expectError(await alice.request('PATCH', `/sessions/${session.id}/interactions/${interaction.id}`, body), 400, message);
      expect(await alice.getSession(session.id)).toMatchObject({ version: 2, interactions: [interaction] });
    });

    it('answers 404 for a missing, malformed or other-session interaction, and the version does not move', async () => {
      const session = await alice.createSession();
      const other = await alice.createSession();
      const elsewhere = await alice.addInteraction(other.id);
      for (const iid of [MISSING, 'nope', elsewhere.id]) {
        expectError(await alice.request('PATCH', `/sessions/${session.id}/interactions/${iid}`, { append: 'x' }), 404);
      }
      expect((await alice.getSession(session.id)).version).toBe(1);
      expect((await alice.getSession(other.id)).interactions[0]).toEqual(elsewhere);
    });
  });
});
