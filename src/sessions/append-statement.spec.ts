import { describe, expect, it } from '@jest/globals';
import { APPEND_STATEMENT } from './session.repository.js';

describe('APPEND_STATEMENT', () => {
  // Two clock_timestamp() calls in one statement can straddle a millisecond: the session and
  // the interaction would then disagree, and a state kept from the event would differ from
  // the database's (seen by the lingering-channels property test under load).
  it('reads the clock once: the interaction takes the session’s new `updated`', () => {
    expect(APPEND_STATEMENT.match(/clock_timestamp\(\)/g)).toHaveLength(1);
    expect(APPEND_STATEMENT).toMatch(/updated = bump\.updated/);
  });
});
