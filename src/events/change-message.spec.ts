import { describe, expect, it } from '@jest/globals';
import type { Interaction } from '../protocol/protocol.js';
import { ChangeMessage, encodeChange } from './change-message.js';
import { interactionFrame, sessionGoneFrame } from './session-events.js';

const interaction: Interaction = {
  id: 'i1',
  session_id: 's1',
  created: '2026-11-30T00:00:00.000Z',
  updated: '2026-11-30T00:00:01.000Z',
  prompt_message: 'line one\nline two',
  response_message: 'hello\n world "quoted" \u2028',
  state: 'editing',
  error: '',
  version: 7,
};

describe('change messages', () => {
  it('carries the v1 frame byte for byte, and serves it to both kinds of socket when it is not an append', () => {
    const frame = interactionFrame('o1', 7, interaction);
    const message = ChangeMessage.decode(encodeChange(frame))!;
    expect(message.data.toString()).toBe(JSON.stringify(frame));
    expect(message.appendData).toBe(message.data);
    expect(message).toMatchObject({ version: 7, kind: 'interaction', interaction });
  });

  it('builds the interaction_append frame of an append once, with state/error only when the PATCH held them', () => {
    const frame = interactionFrame('o1', 7, interaction);
    const message = ChangeMessage.decode(encodeChange(frame, { append: ' world\n', state: 'editing' }))!;
    expect(message.data.toString()).toBe(JSON.stringify(frame));
    expect(JSON.parse(message.appendData.toString())).toEqual({
      type: 'interaction_append',
      session_id: 's1',
      owner: 'o1',
      interaction_id: 'i1',
      version: 7,
      append: ' world\n',
      updated: interaction.updated,
      state: 'editing',
    });
    expect(message.appendData).toBe(message.appendData);
    const plain = ChangeMessage.decode(encodeChange(frame, { append: 'x' }))!;
    expect(Object.keys(JSON.parse(plain.appendData.toString()))).not.toContain('state');
    expect(Object.keys(JSON.parse(plain.appendData.toString()))).not.toContain('error');
  });

  it('knows a deletion', () => {
    expect(ChangeMessage.decode(encodeChange(sessionGoneFrame('s1', { owner: 'o1', version: 9 })))).toMatchObject({ kind: 'gone', version: 9 });
  });

  it.each([
    ['not JSON', 'nope'],
    ['no version', '{"type":"interaction_update","session_id":"s1","interaction":{"id":"i1","session_id":"s1"}}'],
    ['a string version', '{"type":"interaction_update","version":"3","session_id":"s1","interaction":{"id":"i1","session_id":"s1"}}'],
    ['an unknown type', '{"type":"pong","version":3,"session_id":"s1"}'],
    ['an interaction of another session', '{"type":"interaction_update","version":3,"session_id":"s1","interaction":{"id":"i1","session_id":"s2"}}'],
    ['a bad delta', '{"type":"interaction_update","version":3,"session_id":"s1","interaction":{"id":"i1","session_id":"s1"}}\n{"append":5}'],
    ['a delta with a bad state', '{"type":"interaction_update","version":3,"session_id":"s1","interaction":{"id":"i1","session_id":"s1"}}\n{"append":"a","state":"done"}'],
  ])('refuses %s', (_name, text) => {
    expect(ChangeMessage.decode(new TextEncoder().encode(text))).toBeNull();
  });
});
