import { afterEach, describe, expect, it } from '@jest/globals';
import type { Interaction, Session } from '../protocol/protocol.js';
import { SessionWriter } from '../writer/session-writer.js';
import { ScriptedService, type FakeInteraction } from '../writer/testing/scripted-service.js';
import { Responder, demoReply } from './responder.js';

let service: ScriptedService;
afterEach(() => service?.down());

const asSession = (s: ScriptedService): Session => ({
  id: s.sessionId, name: 'n', owner: 'o', version: 1, created: '', updated: '',
  interactions: [...s.interactions.values()].map((i: FakeInteraction) => ({ ...i, created: '', updated: '' }) as Interaction),
});

const until = async (check: () => boolean) => {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('Responder', () => {
  it('answers each waiting prompt exactly once, however often the state arrives', async () => {
    service = await new ScriptedService().start();
    const a = service.add('first');
    const done = service.add('already answered');
    done.state = 'complete';
    const writer = new SessionWriter({ baseUrl: service.baseUrl, apiKey: 'k', minRetryDelayMs: 1 });
    const responder = new Responder({ writer, sessionId: service.sessionId, rate: 1000, compose: (p) => [`re: ${p}`, ' — ', 'ok ✓'] });
    responder.onSession(asSession(service));
    responder.onSession(asSession(service));
    const b = service.add('second');
    responder.onSession(asSession(service));
    responder.onSession(null);
    await until(() => responder.finished.length === 2);
    responder.onSession(asSession(service));
    expect(responder.inProgress).toBe(0);
    expect([a, b].map((i) => [i.response_message, i.state])).toEqual([
      ['re: first — ok ✓', 'complete'],
      ['re: second — ok ✓', 'complete'],
    ]);
    expect(done.response_message).toBe('');
    expect(service.requests.filter((r) => r.path.endsWith(done.id))).toEqual([]);
  });

  it('fails the replies in progress when stopped, and takes no new prompt', async () => {
    service = await new ScriptedService().start();
    const a = service.add('slow');
    const writer = new SessionWriter({ baseUrl: service.baseUrl, apiKey: 'k' });
    const responder = new Responder({ writer, sessionId: service.sessionId, rate: 50, compose: () => Array(1000).fill('x') });
    responder.onSession(asSession(service));
    await until(() => a.response_message.length > 0);
    await responder.stop();
    const b = service.add('after');
    responder.onSession(asSession(service));
    expect(a).toMatchObject({ state: 'error', error: 'the agent was stopped' });
    expect(b.state).toBe('waiting');
  });

  it('makes a demo reply that quotes the prompt', () => {
    expect(demoReply('What is up?', 5).join('')).toMatch(/^You asked: "What is up\?"/);
    expect(() => new Responder({ writer: {} as SessionWriter, sessionId: 's', rate: 0 })).toThrow(/rate/);
  });
});
