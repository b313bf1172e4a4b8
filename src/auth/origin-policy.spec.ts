import { describe, expect, it } from '@jest/globals';
import { normalizeOrigin, originAllowed } from './origin-policy.js';

describe('originAllowed', () => {
  it('without a list, accepts the Origin whose host and port equal the Host header', () => {
    expect(originAllowed({ origin: 'http://127.0.0.1:8080', host: '127.0.0.1:8080' }, undefined)).toBe(true);
    expect(originAllowed({ origin: 'http://LOCALHOST', host: 'localhost:80' }, undefined)).toBe(true);
    expect(originAllowed({ origin: 'https://app.example.com', host: 'app.example.com:443' }, undefined)).toBe(true);
  });

  it('without a list, refuses another host, another port, a missing Host, and the opaque "null" origin', () => {
    expect(originAllowed({ origin: 'http://evil.example', host: '127.0.0.1:8080' }, undefined)).toBe(false);
    expect(originAllowed({ origin: 'http://127.0.0.1:9090', host: '127.0.0.1:8080' }, undefined)).toBe(false);
    expect(originAllowed({ origin: 'http://127.0.0.1:8080' }, undefined)).toBe(false);
    expect(originAllowed({ origin: 'null', host: '127.0.0.1:8080' }, undefined)).toBe(false);
  });

  it('with a list, accepts exactly its origins, case-insensitively, and the Host no longer counts', () => {
    const allowed = ['https://app.example.com', 'http://localhost:5173'];
    expect(originAllowed({ origin: 'HTTPS://App.Example.COM', host: 'api.example.com' }, allowed)).toBe(true);
    expect(originAllowed({ origin: 'http://localhost:5173', host: 'localhost:8080' }, allowed)).toBe(true);
    expect(originAllowed({ origin: 'http://app.example.com', host: 'app.example.com' }, allowed)).toBe(false);
    expect(originAllowed({ origin: 'http://localhost:8080', host: 'localhost:8080' }, allowed)).toBe(false);
  });

  it('does not judge a request without Origin', () => {
    expect(originAllowed({ host: 'x' }, undefined)).toBe(true);
    expect(originAllowed({}, ['https://a.example'])).toBe(true);
  });
});

describe('normalizeOrigin', () => {
  it('lowercases and drops the default port; refuses paths, other schemes and junk', () => {
    expect(normalizeOrigin('HTTPS://A.example.com:443')).toBe('https://a.example.com');
    expect(normalizeOrigin('http://a.example.com:8080/')).toBe('http://a.example.com:8080');
    expect(normalizeOrigin('http://a.example.com/app')).toBeNull();
    expect(normalizeOrigin('ftp://a.example.com')).toBeNull();
    expect(normalizeOrigin('a.example.com')).toBeNull();
    expect(normalizeOrigin('null')).toBeNull();
  });
});
