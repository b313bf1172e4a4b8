import { describe, expect, it } from '@jest/globals';
import { prefersMinimalReturn } from './prefer.js';

describe('prefersMinimalReturn', () => {
  it.each([
    'return=minimal',
    'RETURN=Minimal',
    'respond-async, return=minimal',
    'wait=10,return=minimal;foo=bar',
    '  handling=lenient ,  return = minimal  ; x="a,b"',
    'return="minimal"',
    'foo="a, return=representation", return=minimal',
  ])('honours %j', (header) => {
    expect(prefersMinimalReturn(header)).toBe(true);
  });

  it.each([undefined, '', 'return=representation', 'return', 'returns=minimal', 'x-return=minimal', 'return=minimal-ish', 'return=representation, return=minimal', 'foo="return=minimal"'])(
    'ignores %j',
    (header) => {
      expect(prefersMinimalReturn(header)).toBe(false);
    },
  );

  it('reads repeated headers as one list', () => {
    expect(prefersMinimalReturn(['respond-async', 'return=minimal'])).toBe(true);
  });
});
