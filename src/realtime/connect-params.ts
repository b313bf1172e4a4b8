import { DELTA_APPEND, UUID_PATTERN, WsParam } from '../protocol/protocol.js';

export interface ConnectParams {
  sessionId: string;
  /** `since=V`: the first snapshot is the delta from V. */
  since?: number;
  /** `delta=append`: appends arrive as `interaction_append`. */
  deltaAppend: boolean;
}

/** 2^53 − 1, the largest `since`, as the digits it must not exceed. */
const MAX_SINCE = String(Number.MAX_SAFE_INTEGER);

/**
 * The WebSocket query parameters, judged strictly (any fault closes 4400, with the returned
 * reason): `session_id` a canonical UUID; `since` at most once, a canonical decimal 1 ≤ V ≤
 * 2^53 − 1 (digits only, no sign, no leading zero), compared as digits because
 * `Number('9007199254740993')` rounds to a valid-looking value; `delta` at most once, exactly
 * `append`.
 */
export function parseConnectParams(url: string | undefined): ConnectParams | { error: string } {
  const start = url?.indexOf('?') ?? -1;
  const query = new URLSearchParams(start === -1 ? '' : url!.slice(start + 1));
  const sessionId = query.get(WsParam.SessionId);
  if (!sessionId || !UUID_PATTERN.test(sessionId)) return { error: 'session_id must be a lowercase hyphenated UUID' };

  const sinces = query.getAll(WsParam.Since);
  if (sinces.length > 1) return { error: 'since must be given at most once' };
  let since: number | undefined;
  if (sinces.length === 1) {
    const digits = sinces[0];
    const canonical = /^[1-9][0-9]*$/.test(digits);
    if (!canonical || digits.length > MAX_SINCE.length || (digits.length === MAX_SINCE.length && digits > MAX_SINCE)) {
      return { error: 'since must be a decimal integer from 1 to 9007199254740991, without sign or leading zero' };
    }
    since = Number(digits);
  }

  const deltas = query.getAll(WsParam.Delta);
  if (deltas.length > 1) return { error: 'delta must be given at most once' };
  if (deltas.length === 1 && deltas[0] !== DELTA_APPEND) return { error: `delta must be "${DELTA_APPEND}"` };

  return since === undefined ? { sessionId, deltaAppend: deltas.length === 1 } : { sessionId, since, deltaAppend: deltas.length === 1 };
}
