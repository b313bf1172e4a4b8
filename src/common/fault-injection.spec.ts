import { describe, expect, it } from '@jest/globals';
import { faultArmed } from './fault-injection.js';

describe('faultArmed', () => {
  it('needs both NODE_ENV=test and CHAOS_FAULT naming the fault', () => {
    expect(faultArmed('crash-after-commit', { NODE_ENV: 'test', CHAOS_FAULT: 'crash-after-commit' })).toBe(true);
    expect(faultArmed('crash-after-commit', { NODE_ENV: 'production', CHAOS_FAULT: 'crash-after-commit' })).toBe(false);
    expect(faultArmed('crash-after-commit', { CHAOS_FAULT: 'crash-after-commit' })).toBe(false);
    expect(faultArmed('crash-after-commit', { NODE_ENV: 'test' })).toBe(false);
  });

  it('is off in the test run itself (no CHAOS_FAULT)', () => {
    expect(faultArmed('crash-after-commit')).toBe(false);
  });
});
