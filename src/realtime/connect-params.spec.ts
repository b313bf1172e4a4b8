import { describe, expect, it } from '@jest/globals';
import { parseConnectParams } from './connect-params.js';

const ID = '0b6f3c7e-9a51-4d2e-8f4a-2c1d5e6f7a8b';
const parse = (query: string) => parseConnectParams(`/api/v1/ws/user?session_id=${ID}${query}`);

describe('parseConnectParams', () => {
  it('accepts a plain connect, since and delta=append, alone or together', () => {
    expect(parse('')).toEqual({ sessionId: ID, deltaAppend: false });
    expect(parse('&since=1')).toEqual({ sessionId: ID, since: 1, deltaAppend: false });
    expect(parse('&delta=append&since=42')).toEqual({ sessionId: ID, since: 42, deltaAppend: true });
    expect(parse('&since=9007199254740991')).toMatchObject({ since: Number.MAX_SAFE_INTEGER });
  });

  it.each(['0', '-1', '', '1e3', '0x10', '03', '+5', ' 5', '5 ', '1.0', '9007199254740992', '9007199254740993', '18014398509481984', '99999999999999999999', 'abc', '%31%00'])(
    'refuses since=%j, naming since',
    (value) => {
      expect(parse(`&since=${encodeURIComponent(value)}`)).toEqual({ error: expect.stringMatching(/^since /) });
    },
  );

  it('refuses since or delta given twice', () => {
    expect(parse('&since=3&since=3')).toEqual({ error: 'since must be given at most once' });
    expect(parse('&delta=append&delta=append')).toEqual({ error: 'delta must be given at most once' });
  });

  it.each(['', 'APPEND', 'Append', 'full', 'append '])('refuses delta=%j', (value) => {
    expect(parse(`&delta=${encodeURIComponent(value)}`)).toEqual({ error: 'delta must be "append"' });
  });

  it('judges session_id first', () => {
    expect(parseConnectParams('/api/v1/ws/user?since=0')).toEqual({ error: 'session_id must be a lowercase hyphenated UUID' });
    expect(parseConnectParams('/api/v1/ws/user')).toEqual({ error: 'session_id must be a lowercase hyphenated UUID' });
    expect(parseConnectParams(`/api/v1/ws/user?session_id=${ID.toUpperCase()}`)).toMatchObject({ error: expect.stringMatching(/^session_id/) });
  });
});
