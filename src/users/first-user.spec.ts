import { describe, expect, it } from '@jest/globals';
import { firstStartBanner, signInUrl } from './first-user.js';

describe('first-start banner', () => {
  it('holds the key on a line of its own, the sign-in address, and says it is shown once', () => {
    const banner = firstStartBanner('sk_abc_def', 'http://127.0.0.1:8080/');
    const lines = banner.split('\n');
    expect(lines.filter((line) => line.startsWith('api_key: '))).toEqual(['api_key: sk_abc_def']);
    expect(banner).toContain('http://127.0.0.1:8080/');
    expect(banner).toMatch(/ONLY THIS ONCE/);
    // Starts and ends on a fresh line, so it never shares a line with a log record.
    expect(banner.startsWith('\n')).toBe(true);
    expect(banner.endsWith('\n')).toBe(true);
  });

  it('gives an address a browser on this machine can open', () => {
    expect(signInUrl({ host: '127.0.0.1', port: 8080 })).toBe('http://127.0.0.1:8080/');
    expect(signInUrl({ host: '0.0.0.0', port: 80 })).toBe('http://127.0.0.1:80/');
    expect(signInUrl({ host: '::1', port: 8080 })).toBe('http://[::1]:8080/');
  });
});
