import { afterEach, describe, expect, it } from '@jest/globals';
import { SessionWriter, WriteConflictError, WriteError, utf8Length, type RetryInfo, type SessionWriterOptions } from './session-writer.js';
import { ScriptedService } from './testing/scripted-service.js';

const services: ScriptedService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.down();
});

async function service(): Promise<ScriptedService> {
  const s = await new ScriptedService().start();
  services.push(s);
  return s;
}

function writerFor(s: ScriptedService, options: Partial<SessionWriterOptions> = {}) {
  const retries: RetryInfo[] = [];
  const writer = new SessionWriter({
    baseUrl: s.baseUrl,
    apiKey: 'sk_test',
    minRetryDelayMs: 1,
    maxRetryDelayMs: 20,
    requestTimeoutMs: 2_000,
    onRetry: (info) => retries.push(info),
    ...options,
  });
  return { writer, retries };
}

const patches = (s: ScriptedService) => s.requests.filter((r) => r.method === 'PATCH');
const chunks = (n: number, make = (i: number) => `chunk ${i}; `) => Array.from({ length: n }, (_, i) => make(i));

describe('SessionWriter', () => {
  it('creates an interaction and streams it in order, one request at a time, coalescing what arrives meanwhile', async () => {
    const s = await service();
    const { writer, retries } = writerFor(s);
    const reply = await writer.createInteraction(s.sessionId, 'hello?');
    const parts = chunks(500);
    for (const part of parts) reply.write(part);
    await reply.complete();

    const stored = s.interactions.get(reply.interactionId)!;
    expect(stored).toMatchObject({ prompt_message: 'hello?', response_message: parts.join(''), state: 'complete' });
    expect(s.maxInFlight).toBe(1);
    // Written all at once: far fewer requests than writes.
    expect(patches(s).length).toBeLessThan(10);
    // Each append at the length the previous ones made, and every call asks for minimal answers.
    let offset = 0;
    for (const r of patches(s).filter((p) => p.body?.append !== undefined)) {
      expect(r.body!.offset).toBe(offset);
      offset += utf8Length(r.body!.append as string);
    }
    expect(s.requests.every((r) => r.prefer === 'return=minimal' && r.authorization === 'Bearer sk_test')).toBe(true);
    expect(patches(s)[0].body!.state).toBe('editing');
    expect(patches(s).at(-1)!.body!.state).toBe('complete');
    expect(retries).toEqual([]);
  });

  it('sends each write as soon as the previous request is answered (a slow producer is not held back)', async () => {
    const s = await service();
    const { writer } = writerFor(s);
    const reply = writer.respond(s.sessionId, s.add('q').id);
    for (const part of ['a', 'b', 'c']) {
      reply.write(part);
      await reply.flush();
    }
    expect(patches(s).map((r) => r.body!.append)).toEqual(['a', 'b', 'c']);
    expect(s.interactions.get(reply.interactionId)!.response_message).toBe('abc');
  });

  it('counts offsets in UTF-8 bytes and keeps surrogate pairs split across writes whole', async () => {
    const s = await service();
    const { writer } = writerFor(s, { maxChunkBytes: 7 });
    const reply = writer.respond(s.sessionId, s.add('q').id);
    const text = 'aé✓👋 zß€𝄞end';
    // Written one UTF-16 unit at a time: pairs arrive in halves.
    for (const unit of text.split('')) {
      reply.write(unit);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await reply.complete();
    const stored = s.interactions.get(reply.interactionId)!;
    expect(stored.response_message).toBe(text);
    expect(reply.committedBytes).toBe(Buffer.byteLength(text));
    for (const r of patches(s)) expect(utf8Length((r.body!.append as string) ?? '')).toBeLessThanOrEqual(7);
  });

  it('sends a trailing lone half pair as U+FFFD when the stream ends', async () => {
    const s = await service();
    const { writer } = writerFor(s);
    const reply = writer.respond(s.sessionId, s.add('q').id);
    reply.write('x\uD83D');
    await reply.complete();
    expect(s.interactions.get(reply.interactionId)!.response_message).toBe('x\uFFFD');
    expect(reply.committedBytes).toBe(4);
  });

  it('does not send again an append that committed when its answer was lost (409 at offset + bytes)', async () => {
    const s = await service();
    const interaction = s.add('q');
    s.plan(['ok', 'apply-then-drop']);
    const { writer, retries } = writerFor(s);
    const reply = writer.respond(s.sessionId, interaction.id);
    reply.write('one ');
    await reply.flush();
    reply.write('two ');
    await reply.flush();
    reply.write('three');
    await reply.complete();
    expect(interaction.response_message).toBe('one two three');
    const sent = patches(s).map((r) => [r.body!.append, r.body!.offset, r.fault]);
    expect(sent.slice(0, 3)).toEqual([
      ['one ', 0, 'ok'],
      ['two ', 4, 'apply-then-drop'],
      ['two ', 4, 'ok'], // answered 409 with offset 8: committed, nothing resent
    ]);
    expect(sent[3]).toEqual(['three', 8, 'ok']);
    expect(retries).toHaveLength(1);
  });

  it('sends again an append whose connection dropped before it was applied', async () => {
    const s = await service();
    const interaction = s.add('q');
    s.plan(['drop', 'drop']);
    const { writer } = writerFor(s);
    const reply = writer.respond(s.sessionId, interaction.id);
    reply.write('hello');
    await reply.complete();
    expect(interaction).toMatchObject({ response_message: 'hello', state: 'complete' });
    expect(patches(s).map((r) => r.body!.offset)).toEqual([0, 0, 0]);
  });

  it('retries 5xx and 503 with Retry-After, waiting at least that long', async () => {
    const s = await service();
    const interaction = s.add('q');
    s.plan([{ status: 500 }, { status: 503, headers: { 'retry-after': '1' } }, { status: 502 }, { status: 429, headers: { 'retry-after': '0' } }]);
    const { writer, retries } = writerFor(s);
    const reply = writer.respond(s.sessionId, interaction.id);
    reply.write('through errors');
    await reply.complete();
    expect(interaction.response_message).toBe('through errors');
    expect(retries.map((r) => r.reason)).toEqual(['status 500', 'status 503', 'status 502', 'status 429']);
    expect(retries[1].delayMs).toBeGreaterThanOrEqual(1_000);
  });

  it('retries a request without an answer in time, and a late commit of the first try cannot double the text', async () => {
    const s = await service();
    const interaction = s.add('q');
    // The first try is held past the client's timeout and tries to apply afterwards, at the
    // stale offset: the retry has committed meanwhile, so the late one meets a 409.
    s.plan([{ stallMs: 600, apply: true }]);
    const { writer, retries } = writerFor(s, { requestTimeoutMs: 200 });
    const reply = writer.respond(s.sessionId, interaction.id, { markEditing: false });
    reply.write('once');
    await reply.flush();
    await new Promise((resolve) => setTimeout(resolve, 800));
    await reply.complete();
    expect(interaction.response_message).toBe('once');
    expect(retries[0].reason).toBe('no answer within 200 ms');
  });

  it('waits out a service that refuses connections, then finishes the text exactly', async () => {
    const s = await service();
    const interaction = s.add('q');
    const { writer, retries } = writerFor(s);
    const reply = writer.respond(s.sessionId, interaction.id);
    reply.write('before ');
    await reply.flush();
    await s.down();
    for (const part of chunks(50)) reply.write(part);
    const done = reply.complete();
    // Up again only once the writer has been refused a few times.
    const until = Date.now() + 10_000;
    while (retries.length < 3 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(retries.length).toBeGreaterThanOrEqual(3);
    expect(retries[0].reason).toMatch(/ECONNREFUSED/);
    await s.up();
    await done;
    expect(interaction).toMatchObject({ response_message: 'before ' + chunks(50).join(''), state: 'complete' });
  });

  it('fails the stream on a 409 with any other offset, and sends nothing more', async () => {
    const s = await service();
    const interaction = s.add('q', 'someone else wrote this');
    const { writer } = writerFor(s);
    const reply = writer.respond(s.sessionId, interaction.id);
    reply.write('mine');
    const error = await reply.flush().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteConflictError);
    expect(error).toMatchObject({ expected: 0, current: Buffer.byteLength('someone else wrote this') });
    expect(() => reply.write('more')).toThrow(WriteConflictError);
    await expect(reply.complete()).rejects.toBe(error);
    expect(patches(s)).toHaveLength(1);
    expect(interaction.response_message).toBe('someone else wrote this');
  });

  it('fails at once, with the service message, on an answer retrying cannot mend', async () => {
    const s = await service();
    const { writer, retries } = writerFor(s);
    const reply = writer.respond(s.sessionId, '00000000-0000-4000-8000-000000000000');
    reply.write('x');
    const error = (await reply.complete().catch((e: unknown) => e)) as WriteError;
    expect(error).toBeInstanceOf(WriteError);
    expect(error.status).toBe(404);
    expect(error.message).toMatch(/404 not found/);
    expect(retries).toEqual([]);
  });

  it('fails a stream with state error and the message', async () => {
    const s = await service();
    const interaction = s.add('q');
    const { writer } = writerFor(s);
    const reply = writer.respond(s.sessionId, interaction.id);
    reply.write('partial');
    await reply.fail('model crashed');
    expect(interaction).toMatchObject({ response_message: 'partial', state: 'error', error: 'model crashed' });
    await expect(reply.complete()).rejects.toThrow(/already/);
  });

  it('gives up after maxRetryTimeMs of failure, naming the last reason', async () => {
    const s = await service();
    const interaction = s.add('q');
    s.plan(Array(1000).fill({ status: 503 }));
    const { writer } = writerFor(s, { maxRetryTimeMs: 100 });
    const reply = writer.respond(s.sessionId, interaction.id);
    reply.write('x');
    await expect(reply.flush()).rejects.toThrow(/still failing after 100 ms \(status 503\)/);
    expect(interaction.response_message).toBe('');
  });

  it('adopts the interaction a lost POST answer created instead of creating it twice', async () => {
    const s = await service();
    s.plan(['apply-then-drop'], (r) => r.method === 'POST');
    const { writer } = writerFor(s);
    const reply = await writer.createInteraction(s.sessionId, 'only once');
    reply.write('answer');
    await reply.complete();
    expect([...s.interactions.values()].map((i) => [i.prompt_message, i.response_message])).toEqual([['only once', 'answer']]);
    expect(s.requests.map((r) => r.method)).toEqual(['POST', 'GET', 'PATCH', 'PATCH']);
  });

  it('posts again when a lost POST answer created nothing', async () => {
    const s = await service();
    s.plan(['drop'], (r) => r.method === 'POST');
    const { writer } = writerFor(s);
    await writer.createInteraction(s.sessionId, 'p');
    await writer.createInteraction(s.sessionId, 'p');
    expect(s.requests.map((r) => r.method)).toEqual(['POST', 'GET', 'POST', 'POST']);
    expect(s.interactions.size).toBe(2);
  });

  it('validates its options and arguments', () => {
    expect(() => new SessionWriter({ baseUrl: 'ftp://x', apiKey: 'k' })).toThrow(/baseUrl/);
    expect(() => new SessionWriter({ baseUrl: 'http://x', apiKey: '' })).toThrow(/apiKey/);
    const writer = new SessionWriter({ baseUrl: 'http://x', apiKey: 'k' });
    expect(() => writer.respond('s', 'i', { offset: -1 })).toThrow(/offset/);
  });
});
