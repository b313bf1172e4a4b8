import { describe, expect, it } from '@jest/globals';
import { ConnectionQuota } from './connection-quota.js';

describe('ConnectionQuota', () => {
  it('refuses a key at its cap and gives the slot back on release', () => {
    const quota = new ConnectionQuota(2);
    expect(quota.take('a')).toBe(true);
    expect(quota.take('a')).toBe(true);
    expect(quota.take('a')).toBe(false);
    expect(quota.take('b')).toBe(true);
    quota.release('a');
    expect(quota.take('a')).toBe(true);
  });

  it('forgets a key once its last slot is released', () => {
    const quota = new ConnectionQuota(1);
    quota.take('a');
    quota.release('a');
    expect(quota.keys).toBe(0);
  });

  it('does not cap with limit 0', () => {
    const quota = new ConnectionQuota(0);
    for (let i = 0; i < 10_000; i++) expect(quota.take('a')).toBe(true);
  });
});
