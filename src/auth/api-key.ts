import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys look like `sk_<12 hex prefix>_<43 base64url secret>`. The prefix finds the
 * stored row; only the SHA-256 of the whole key is stored, and it is compared in constant
 * time. The secret carries 256 random bits, so a fast hash is enough (no password stretching).
 */
const KEY_PATTERN = /^sk_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

export interface NewApiKey {
  key: string;
  prefix: string;
  hash: Buffer;
}

export function generateApiKey(): NewApiKey {
  const prefix = randomBytes(6).toString('hex');
  const key = `sk_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: hashApiKey(key) };
}

/** The lookup prefix of a well-formed key, or null for anything else. */
export function apiKeyPrefix(key: string): string | null {
  return KEY_PATTERN.exec(key)?.[1] ?? null;
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

export function apiKeyMatches(key: string, storedHash: Buffer): boolean {
  const hash = hashApiKey(key);
  return storedHash.length === hash.length && timingSafeEqual(hash, storedHash);
}
