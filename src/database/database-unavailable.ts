import { TimeoutError } from '../common/with-timeout.js';

/** SQLSTATE classes and codes that say "the database cannot answer now", not "your request is wrong". */
const RETRYABLE_SQLSTATE = [/^08/, /^53/, /^57P0[123]$/, /^57014$/, /^40001$/, /^40P01$/];
const RETRYABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EMFILE', 'ENFILE']);
/** What node-postgres and its pool say when a connection cannot be had or went silent. */
const RETRYABLE_MESSAGE = /timeout exceeded when trying to connect|Connection terminated|Query read timeout|not queryable|connection timeout|Connection refused/i;

/**
 * True when `error` means the database is unreachable, overloaded or too slow (refused,
 * black-holed past the acquire or query timeout, restarting, a cancelled statement): the
 * same request may well succeed later, so the client is told 503 + Retry-After rather than
 * 500. TypeORM wraps driver errors (`driverError`); both layers are looked at.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let layer = error, hops = 0; layer && typeof layer === 'object' && hops < 4; hops++) {
    if (layer instanceof TimeoutError) return true;
    const { code, message } = layer as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (RETRYABLE_ERRNO.has(code) || RETRYABLE_SQLSTATE.some((pattern) => pattern.test(code)))) return true;
    if (typeof message === 'string' && RETRYABLE_MESSAGE.test(message)) return true;
    layer = (layer as { driverError?: unknown; cause?: unknown }).driverError ?? (layer as { cause?: unknown }).cause;
  }
  return false;
}
