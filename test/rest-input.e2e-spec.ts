import { describe, expect, it } from '@jest/globals';
import type { Session } from '../src/protocol/protocol.js';
import { useTestApp } from './helpers/app.js';

const MISSING = '00000000-0000-4000-8000-000000000000';

/**
 * Bodies that used to reach code (or the database) they could break, each answered with a
 * 4xx that says what is wrong, and nothing written: a missing body, a body that is not JSON,
 * JSON nested thousands of levels deep, a NUL character in a text field.
 */
describe('REST input that is not what a route expects', () => {
  const fixture = useTestApp('input');

  async function sessionWithInteraction(): Promise<{ session: Session; iid: string }> {
    const created = await fixture.user.createSession('input');
    const interaction = await fixture.user.addInteraction(created.id, 'p');
    return { session: await fixture.user.getSession(created.id), iid: interaction.id };
  }

  const raw = (method: string, path: string, body?: string, contentType?: string) =>
    fetch(`${fixture.app.baseUrl}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${fixture.user.key}`, ...(contentType ? { 'content-type': contentType } : {}) },
      body,
    }).then(async (response) => ({ status: response.status, body: (await response.json()) as { statusCode: number; message: unknown } }));

  const messageOf = (reply: { body: { message: unknown } }) => [reply.body.message].flat().join('; ');

  it('answers a PATCH of an interaction without a body with 400 naming the fields it needs', async () => {
    const { session, iid } = await sessionWithInteraction();
    const reply = await raw('PATCH', `/sessions/${session.id}/interactions/${iid}`);
    expect(reply.status).toBe(400);
    expect(messageOf(reply)).toMatch(/response_message, append, state, error/);
    expect((await fixture.user.getSession(session.id)).version).toBe(session.version);
  });

  it.each([
    ['abc', 'def'],
    [MISSING.toUpperCase(), 'x'],
    [MISSING, 'not-a-uuid'],
  ])('answers a PATCH without a body to malformed ids (%s, %s) with 404', async (sid, iid) => {
    const reply = await raw('PATCH', `/sessions/${sid}/interactions/${iid}`);
    expect(reply.status).toBe(404);
    expect(reply.body.statusCode).toBe(404);
  });

  it('answers a write whose body is not JSON with 415 naming the Content-Type', async () => {
    const { session, iid } = await sessionWithInteraction();
    for (const [method, path] of [
      ['PATCH', `/sessions/${session.id}/interactions/${iid}`],
      ['POST', `/sessions/${session.id}/interactions`],
      ['POST', '/sessions'],
      ['PATCH', `/sessions/${session.id}`],
    ]) {
      const reply = await raw(method, path, 'append=x', 'text/plain');
      expect(reply.status).toBe(415);
      expect(messageOf(reply)).toMatch(/Content-Type/);
    }
    expect((await fixture.user.getSession(session.id)).version).toBe(session.version);
  });

  it.each([true, false])('answers JSON nested 5,000 levels deep with 400 on every POST and PATCH (objects: %s)', async (objects) => {
    const { session, iid } = await sessionWithInteraction();
    const deep = objects ? '{"a":'.repeat(5000) + '1' + '}'.repeat(5000) : '['.repeat(5000) + ']'.repeat(5000);
    for (const [method, path] of [
      ['POST', '/sessions'],
      ['PATCH', `/sessions/${session.id}`],
      ['POST', `/sessions/${session.id}/interactions`],
      ['PATCH', `/sessions/${session.id}/interactions/${iid}`],
    ]) {
      const reply = await raw(method, path, deep, 'application/json');
      expect(reply.status).toBe(400);
      expect(messageOf(reply)).toMatch(/nested deeper than 32 levels/);
    }
    expect((await fixture.user.getSession(session.id)).version).toBe(session.version);
  });

  it.each([
    ['POST', 'name', () => '/sessions'],
    ['PATCH', 'name', (s: Session) => `/sessions/${s.id}`],
    ['POST', 'prompt_message', (s: Session) => `/sessions/${s.id}/interactions`],
    ['PATCH', 'append', (s: Session, iid: string) => `/sessions/${s.id}/interactions/${iid}`],
    ['PATCH', 'response_message', (s: Session, iid: string) => `/sessions/${s.id}/interactions/${iid}`],
    ['PATCH', 'error', (s: Session, iid: string) => `/sessions/${s.id}/interactions/${iid}`],
  ] as const)('answers %s with a NUL character in %s with 400 naming the field, and writes nothing', async (method, field, path) => {
    const { session, iid } = await sessionWithInteraction();
    const reply = await raw(method, path(session, iid), JSON.stringify({ [field]: 'before\u0000after' }), 'application/json');
    expect(reply.status).toBe(400);
    expect(messageOf(reply)).toBe(`${field} must not contain a NUL character (\\u0000)`);
    const after = await fixture.user.getSession(session.id);
    expect(after.version).toBe(session.version);
    expect((await fixture.user.listSessions()).sessions.some((s) => s.name.includes('\u0000'))).toBe(false);
  });
});
