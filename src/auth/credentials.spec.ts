import { describe, expect, it } from '@jest/globals';
import { apiKeyMatches, apiKeyPrefix, generateApiKey } from './api-key.js';
import { extractCredential } from './credentials.js';

describe('extractCredential', () => {
  it('takes the Bearer header first, then the query, then the cookie', () => {
    expect(extractCredential({ authorization: 'Bearer h' }, '/x?access_token=q')).toEqual({ kind: 'key', key: 'h', source: 'header' });
    expect(extractCredential({ cookie: 'access_token=c' }, '/x?access_token=q')).toEqual({ kind: 'key', key: 'q', source: 'query' });
    expect(extractCredential({ cookie: 'a=1; access_token=c%2B' }, '/x')).toEqual({ kind: 'key', key: 'c+', source: 'cookie' });
    expect(extractCredential({}, '/x')).toEqual({ kind: 'none' });
  });

  it('judges only the first one present: a non-Bearer header is invalid even with a good query key', () => {
    expect(extractCredential({ authorization: 'Basic abc' }, '/x?access_token=q')).toEqual({ kind: 'invalid' });
    expect(extractCredential({ authorization: 'Bearer' }, '/x?access_token=q')).toEqual({ kind: 'invalid' });
  });

  it('skips empty values', () => {
    expect(extractCredential({ authorization: '' }, '/x?access_token=&y=1')).toEqual({ kind: 'none' });
  });
});

describe('API keys', () => {
  it('round-trips a generated key through its prefix and hash', () => {
    const { key, prefix, hash } = generateApiKey();
    expect(apiKeyPrefix(key)).toBe(prefix);
    expect(apiKeyMatches(key, hash)).toBe(true);
    expect(apiKeyMatches(key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'), hash)).toBe(false);
    expect(apiKeyPrefix('sk_nothex000000_x')).toBeNull();
  });
});
