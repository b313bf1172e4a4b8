import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Api } from './helpers/api.js';
import { TestApp, useTestApp } from './helpers/app.js';

/** Writes made for streaming: `Prefer: return=minimal`, `offset` on append, and the response size cap. */

const MISSING = '00000000-0000-4000-8000-000000000000';

interface Answer {
  status: number;
  body: any;
  applied: string | null;
}

/** A request with the answer's `Preference-Applied` header, which the shared client does not keep. */
async function send(user: Api, method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${user.baseUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${user.key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, applied: response.headers.get('preference-applied') };
}

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

describe('writes made for streaming', () => {
  const fx = useTestApp('streamer');
  const patch = (sessionId: string, id: string, body: unknown, headers?: Record<string, string>) =>
    send(fx.user, 'PATCH', `/sessions/${sessionId}/interactions/${id}`, body, headers);
  const fresh = async () => {
    const session = await fx.user.createSession();
    return { session, interaction: await fx.user.addInteraction(session.id) };
  };

  describe('Prefer: return=minimal', () => {
    it.each(['return=minimal', 'respond-async, wait=5, return=minimal', 'handling=lenient ; x=1 ,RETURN = "minimal";foo'])(
      'answers POST and PATCH with id, session_id and version only, for %j',
      async (prefer) => {
        const session = await fx.user.createSession();
        const created = await send(fx.user, 'POST', `/sessions/${session.id}/interactions`, { prompt_message: 'hi' }, { prefer });
        expect(created).toEqual({ status: 201, body: { id: expect.any(String), session_id: session.id, version: 2 }, applied: 'return=minimal' });
        const patched = await patch(session.id, created.body.id, { append: 'Hello', state: 'editing' }, { prefer });
        expect(patched).toEqual({ status: 200, body: { id: created.body.id, session_id: session.id, version: 3 }, applied: 'return=minimal' });
        const replaced = await patch(session.id, created.body.id, { response_message: 'Bye' }, { prefer });
        expect(replaced).toEqual({ status: 200, body: { id: created.body.id, session_id: session.id, version: 4 }, applied: 'return=minimal' });
        expect((await fx.user.getSession(session.id)).interactions).toEqual([
          expect.objectContaining({ id: created.body.id, prompt_message: 'hi', response_message: 'Bye', state: 'editing', version: 4 }),
        ]);
      },
    );

    it('answers the whole interaction without the preference or with another one', async () => {
      const { session, interaction } = await fresh();
      for (const headers of [{} as Record<string, string>, { prefer: 'return=representation' }, { prefer: 'respond-async' }, { prefer: 'return=representation, return=minimal' }]) {
        const reply = await patch(session.id, interaction.id, { append: 'x' }, headers);
        expect(reply.status).toBe(200);
        expect(reply.applied).toBeNull();
        expect(reply.body).toMatchObject({ id: interaction.id, prompt_message: 'hello', response_message: expect.stringMatching(/^x+$/) });
      }
      const created = await send(fx.user, 'POST', `/sessions/${session.id}/interactions`, { prompt_message: 'p' }, { prefer: 'return=representation' });
      expect(created.body).toMatchObject({ prompt_message: 'p', response_message: '', state: 'waiting' });
    });

    it('leaves errors unchanged', async () => {
      const { session, interaction } = await fresh();
      const prefer = { prefer: 'return=minimal' };
      const missing = await send(fx.user, 'POST', `/sessions/${MISSING}/interactions`, { prompt_message: 'x' }, prefer);
      expect(missing).toEqual({ status: 404, body: { statusCode: 404, error: 'Not Found', message: 'session not found' }, applied: null });
      const invalid = await patch(session.id, interaction.id, { append: '' }, prefer);
      expect(invalid).toMatchObject({ status: 400, body: { statusCode: 400, error: 'Bad Request' }, applied: null });
      const conflict = await patch(session.id, interaction.id, { append: 'x', offset: 5 }, prefer);
      expect(conflict).toMatchObject({ status: 409, body: { statusCode: 409, offset: 0 }, applied: null });
      expect((await fx.user.getSession(session.id)).version).toBe(2);
    });
  });

  describe('offset on append', () => {
    it('appends when offset is the UTF-8 byte length, and answers 409 with the current one otherwise', async () => {
      const { session, interaction } = await fresh();
      expect((await patch(session.id, interaction.id, { append: 'héllo 😀', offset: 0 })).body).toMatchObject({ response_message: 'héllo 😀', version: 3 });
      const length = bytes('héllo 😀');
      expect(length).toBe(11);
      // 8 is the UTF-16 length JavaScript reports: a conflict, not an append.
      const wrong = await patch(session.id, interaction.id, { append: '!', offset: 'héllo 😀'.length });
      expect(wrong.status).toBe(409);
      expect(wrong.body).toEqual({ statusCode: 409, error: 'Conflict', message: expect.stringMatching(/offset/), offset: length });
      expect((await patch(session.id, interaction.id, { append: '!', offset: length, state: 'complete' })).body).toMatchObject({ response_message: 'héllo 😀!', state: 'complete', version: 4 });
      expect((await fx.user.getSession(session.id)).interactions[0]).toMatchObject({ response_message: 'héllo 😀!', version: 4 });
    });

    it('tells a retry whose first try committed: 409 with offset + its bytes, and the text is not doubled', async () => {
      const { session, interaction } = await fresh();
      await fx.user.updateInteraction(session.id, interaction.id, { response_message: 'ab' });
      const chunk = { append: '→ next', offset: 2 };
      expect((await patch(session.id, interaction.id, chunk)).status).toBe(200);
      const retry = await patch(session.id, interaction.id, chunk);
      expect(retry.status).toBe(409);
      expect(retry.body.offset).toBe(2 + bytes('→ next'));
      const stored = await fx.user.getSession(session.id);
      expect(stored).toMatchObject({ version: 4, interactions: [{ response_message: 'ab→ next', version: 4 }] });
    });

    it('changes nothing on a conflict, not even the state or error of the same body', async () => {
      const { session, interaction } = await fresh();
      await patch(session.id, interaction.id, { append: 'one' });
      expect((await patch(session.id, interaction.id, { append: 'two', offset: 0, state: 'error', error: 'boom' })).status).toBe(409);
      expect(await fx.user.getSession(session.id)).toMatchObject({ version: 3, interactions: [{ response_message: 'one', state: 'waiting', error: '', version: 3 }] });
    });

    it.each([
      [{ offset: 0 }, /offset is only valid together with append/],
      [{ response_message: 'x', offset: 0 }, /offset is only valid together with append/],
      [{ state: 'editing', offset: 3 }, /offset is only valid together with append/],
      [{ append: 'x', offset: -1 }, /offset must not be less than 0/],
      [{ append: 'x', offset: 1.5 }, /offset must be an integer/],
      [{ append: 'x', offset: '3' }, /offset must be an integer/],
      [{ append: 'x', offset: null }, /offset/],
      [{ append: 'x', offset: 2 ** 60 }, /offset must not be greater than/],
      [{ append: 'x', offset: 99, state: 'done' }, /state must be one of/],
    ])('answers %j with 400 naming the field before judging the conflict', async (body, message) => {
      const { session, interaction } = await fresh();
      const reply = await patch(session.id, interaction.id, body);
      expect(reply.status).toBe(400);
      expect(reply.body).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.anything() });
      expect([reply.body.message].flat().join('; ')).toMatch(message);
      expect((await fx.user.getSession(session.id)).version).toBe(2);
    });

    it('answers a missing body or a JSON non-object with 400, a non-JSON body with 415, and malformed ids with 404 whatever the body', async () => {
      const { session, interaction } = await fresh();
      const raw = (path: string, init: RequestInit) => fetch(`${fx.user.baseUrl}/api/v1${path}`, { method: 'PATCH', ...init, headers: { authorization: `Bearer ${fx.user.key}`, ...init.headers } });
      const cases: [RequestInit, number, string, RegExp][] = [
        [{}, 400, 'Bad Request', /^body must contain at least one of response_message, append, state, error/],
        [{ body: '[1]', headers: { 'content-type': 'application/json' } }, 400, 'Bad Request', /^body must be a JSON object/],
        [{ body: 'x', headers: { 'content-type': 'text/plain' } }, 415, 'Unsupported Media Type', /Content-Type/],
      ];
      for (const [init, status, error, message] of cases) {
        const reply = await raw(`/sessions/${session.id}/interactions/${interaction.id}`, init);
        expect(reply.status).toBe(status);
        const body = (await reply.json()) as { statusCode: number; error: string; message: string | string[] };
        expect(body).toEqual({ statusCode: status, error, message: expect.anything() });
        expect([body.message].flat().join('; ')).toMatch(message);
        const malformed = await raw(`/sessions/nope/interactions/nope`, init);
        expect(malformed.status).toBe(404);
      }
      expect((await fx.user.getSession(session.id)).version).toBe(2);
    });

    it('answers 404 for a missing interaction or session whatever the offset', async () => {
      const { session } = await fresh();
      expect((await patch(session.id, MISSING, { append: 'x', offset: 0 })).status).toBe(404);
      expect((await patch(MISSING, MISSING, { append: 'x', offset: 0 })).body).toMatchObject({ statusCode: 404, message: 'session not found' });
    });

    it('never doubles or loses text when writers race with offsets and retry answers they "lost"', async () => {
      const { session, interaction } = await fresh();
      const writers = 8;
      const chunksEach = 12;
      let conflicts = 0;
      let retriesRefused = 0;
      const write = async (writer: number) => {
        let offset = 0;
        for (let chunk = 0; chunk < chunksEach; chunk++) {
          // Multi-byte on purpose: offsets are bytes, not characters.
          const text = `[${writer}:${chunk}é😀]`;
          for (;;) {
            const reply = await patch(session.id, interaction.id, { append: text, offset }, { prefer: 'return=minimal' });
            if (reply.status === 409) {
              conflicts++;
              offset = reply.body.offset;
              continue;
            }
            expect(reply.status).toBe(200);
            // Pretend the answer was lost and retry the very same request: it must never commit twice.
            if (chunk % 3 === 0) {
              const retry = await patch(session.id, interaction.id, { append: text, offset });
              expect(retry.status).toBe(409);
              expect(retry.body.offset).toBeGreaterThanOrEqual(offset + bytes(text));
              retriesRefused++;
            }
            offset += bytes(text);
            break;
          }
        }
      };
      await Promise.all(Array.from({ length: writers }, (_, writer) => write(writer)));
      const stored = (await fx.user.getSession(session.id)).interactions[0];
      const pieces = stored.response_message.match(/\[\d+:\d+é😀\]/g) ?? [];
      expect(pieces.join('')).toBe(stored.response_message);
      expect([...pieces].sort()).toEqual(
        Array.from({ length: writers }, (_, w) => Array.from({ length: chunksEach }, (_, c) => `[${w}:${c}é😀]`))
          .flat()
          .sort(),
      );
      // Each writer's own chunks stay in its order.
      for (let w = 0; w < writers; w++) {
        expect(pieces.filter((piece) => piece.startsWith(`[${w}:`))).toEqual(Array.from({ length: chunksEach }, (_, c) => `[${w}:${c}é😀]`));
      }
      expect(stored.version).toBe(2 + writers * chunksEach);
      expect(retriesRefused).toBe(writers * Math.ceil(chunksEach / 3));
      // The race was real: at least some writers were told the text had moved.
      expect(conflicts).toBeGreaterThan(0);
    });
  });
});

describe('the response size cap (RESPONSE_MAX_BYTES)', () => {
  let app: TestApp;
  let user: Api & { userId: string };
  beforeAll(async () => {
    app = await TestApp.start({ RESPONSE_MAX_BYTES: '64' });
    user = await app.newUser('capped');
  });
  afterAll(() => app?.close());
  const patch = (sessionId: string, id: string, body: unknown) => send(user, 'PATCH', `/sessions/${sessionId}/interactions/${id}`, body);

  it('lets an append reach the cap exactly and refuses the next byte with 413 naming append, changing nothing', async () => {
    const session = await user.createSession();
    const interaction = await user.addInteraction(session.id);
    expect((await patch(session.id, interaction.id, { append: 'a'.repeat(63) })).status).toBe(200);
    const over = await patch(session.id, interaction.id, { append: 'é', state: 'complete' });
    expect(over.status).toBe(413);
    expect(over.body).toEqual({ statusCode: 413, error: 'Payload Too Large', message: expect.stringMatching(/^append .*64 bytes \(RESPONSE_MAX_BYTES\)/) });
    expect(await user.getSession(session.id)).toMatchObject({ version: 3, interactions: [{ response_message: 'a'.repeat(63), state: 'waiting' }] });
    expect((await patch(session.id, interaction.id, { append: 'b', offset: 63 })).body).toMatchObject({ response_message: `${'a'.repeat(63)}b`, version: 4 });
    expect((await patch(session.id, interaction.id, { append: 'c' })).status).toBe(413);
  });

  it('judges offset before the cap', async () => {
    const session = await user.createSession();
    const interaction = await user.addInteraction(session.id);
    expect((await patch(session.id, interaction.id, { append: 'x'.repeat(100), offset: 1 })).body).toMatchObject({ statusCode: 409, offset: 0 });
    expect((await patch(session.id, interaction.id, { append: 'x'.repeat(100), offset: 0 })).status).toBe(413);
  });

  it('refuses a response_message over the cap in bytes with 413 naming response_message', async () => {
    const session = await user.createSession();
    const interaction = await user.addInteraction(session.id);
    const reply = await patch(session.id, interaction.id, { response_message: '😀'.repeat(17), state: 'complete' });
    expect(reply.status).toBe(413);
    expect(reply.body.message).toMatch(/^response_message is 68 bytes, over the limit of 64 bytes/);
    expect((await patch(session.id, interaction.id, { response_message: '😀'.repeat(16) })).status).toBe(200);
    expect((await user.getSession(session.id)).interactions[0]).toMatchObject({ response_message: '😀'.repeat(16), state: 'waiting', version: 3 });
  });

  it('keeps the cap under concurrent appends: the text never passes it', async () => {
    const session = await user.createSession();
    const interaction = await user.addInteraction(session.id);
    const replies = await Promise.all(Array.from({ length: 20 }, () => patch(session.id, interaction.id, { append: 'abcdefghi' })));
    expect(replies.filter((reply) => reply.status === 200)).toHaveLength(7);
    expect(replies.filter((reply) => reply.status === 413)).toHaveLength(13);
    expect((await user.getSession(session.id)).interactions[0]).toMatchObject({ response_message: 'abcdefghi'.repeat(7), version: 9 });
  });
});
