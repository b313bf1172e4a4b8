import type { ListPosition } from './session.repository.js';
import { UUID_PATTERN } from '../protocol/protocol.js';

/** Opaque keyset cursor: the last row's `updated` (millisecond precision, as stored) and id. */
export function encodeCursor(position: ListPosition): string {
  return Buffer.from(`${position.updated.toISOString()}|${position.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): ListPosition | null {
  const [updated, id, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const date = new Date(updated);
  if (extra !== undefined || !UUID_PATTERN.test(id ?? '') || Number.isNaN(date.getTime())) return null;
  return { updated: date, id };
}
