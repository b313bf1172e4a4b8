import { describe, expect, it } from '@jest/globals';
import { decodeCursor, encodeCursor } from './list-cursor.js';

describe('list cursor', () => {
  it('round-trips a position', () => {
    const position = { updated: new Date('2026-11-24T01:02:03.456Z'), id: '00000000-0000-4000-8000-000000000001' };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
  });

  it.each(['', 'garbage', Buffer.from('2026-01-01T00:00:00Z|not-a-uuid').toString('base64url'), Buffer.from('x|00000000-0000-4000-8000-000000000001').toString('base64url')])(
    'refuses %j',
    (cursor) => expect(decodeCursor(cursor)).toBeNull(),
  );
});
