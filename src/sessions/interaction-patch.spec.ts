import { describe, expect, it } from '@jest/globals';
import { BadRequestException } from '@nestjs/common';
import { parseInteractionPatch } from './interaction-patch.js';

function problems(body: unknown): string[] {
  try {
    parseInteractionPatch(body);
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    return ((error as BadRequestException).getResponse() as { message: string[] }).message;
  }
  throw new Error(`accepted ${JSON.stringify(body)}`);
}

describe('parseInteractionPatch', () => {
  it('keeps the given fields and nothing else', () => {
    expect(parseInteractionPatch({ append: 'x', offset: 0, state: 'editing' })).toEqual({ append: 'x', offset: 0, state: 'editing' });
    expect(parseInteractionPatch({ response_message: '', error: 'e'.repeat(10_000) })).toEqual({ response_message: '', error: 'e'.repeat(10_000) });
    expect(parseInteractionPatch({ error: '😀'.repeat(10_000) })).toEqual({ error: '😀'.repeat(10_000) });
  });

  it.each([
    [undefined, /body must be a JSON object/],
    [null, /body must be a JSON object/],
    [[1], /body must be a JSON object/],
    ['text', /body must be a JSON object/],
    [{}, /at least one of/],
    [{ response_message: 'a', append: 'b' }, /cannot be used together/],
    [{ state: 'done' }, /^state must be one of the following values: waiting, editing, complete, error$/],
    [{ state: null }, /state must be one of/],
    [{ append: '' }, /^append must be longer than or equal to 1 characters$/],
    [{ append: 5 }, /^append must be a string$/],
    [{ response_message: null }, /^response_message must be a string$/],
    [{ error: 5 }, /^error must be a string$/],
    [{ error: 'e'.repeat(10_001) }, /^error must be shorter than or equal to 10000 characters$/],
    [{ response_message: 'x', other: true }, /^property other should not exist$/],
    [JSON.parse('{"append":"x","__proto__":{"a":1}}'), /^property __proto__ should not exist$/],
    [{ offset: 0 }, /^offset is only valid together with append$/],
    [{ append: 'x', offset: -1 }, /^offset must not be less than 0$/],
    [{ append: 'x', offset: 1.5 }, /^offset must be an integer number$/],
    [{ append: 'x', offset: '1' }, /^offset must be an integer number$/],
    [{ append: 'x', offset: 2 ** 53 }, /^offset must not be greater than 9007199254740991$/],
  ])('refuses %j naming the field', (body, message) => {
    expect(problems(body).join('; ')).toMatch(message);
  });

  it('lists every failed rule at once', () => {
    expect(problems({ append: 1, state: 'x', extra: 1 }).sort()).toEqual(['append must be a string', 'property extra should not exist', 'state must be one of the following values: waiting, editing, complete, error']);
  });
});
