import { CloseCode, RECONNECT_CLOSE_CODES, TERMINAL_CLOSE_CODES } from '../../../src/protocol/protocol.js';
import type { WakeSignals } from './types.js';

/**
 * Full-jitter exponential backoff: a uniform delay in [0, min(max, min·2^step)). Spreading
 * every client over the whole window, instead of around one value, is what keeps a fleet of
 * tabs from reconnecting in lockstep after an outage.
 */
export function backoff(step: number, min: number, max: number, random: () => number = Math.random): number {
  const ceiling = Math.min(max, min * 2 ** Math.min(step, 31));
  return Math.floor(random() * ceiling);
}

/**
 * Whether a close with this code is worth retrying. The protocol lists the codes that must
 * and must not be retried; of the rest, 1000 and 1009 mean the server ended the connection on
 * purpose or refused a frame, which a retry would only repeat, while anything else (1001 from
 * a proxy, 1005, 1015) is treated like a dropped connection.
 */
export function shouldReconnect(code: number): boolean {
  if (RECONNECT_CLOSE_CODES.includes(code)) return true;
  if (TERMINAL_CLOSE_CODES.includes(code)) return false;
  return code !== CloseCode.Normal && code !== CloseCode.MessageTooBig;
}

/** `ws(s)://host` for an `http(s)://`, `ws(s)://` base, or the page's origin. */
export function toWebSocketBase(baseUrl: string | undefined): string {
  const base = baseUrl ?? (typeof location !== 'undefined' ? location.origin : undefined);
  if (base === undefined) throw new Error('SessionClient: baseUrl is required outside a browser');
  return base.replace(/^http/, 'ws').replace(/\/+$/, '');
}

/**
 * The browser's hints that a retry would now succeed: the network came back, or the tab was
 * shown again (background tabs have their timers throttled, so a backoff may be far away).
 */
export const browserWakeSignals: WakeSignals = (wake) => {
  if (typeof window === 'undefined' || typeof document === 'undefined') return () => {};
  const onVisible = () => {
    if (document.visibilityState === 'visible') wake();
  };
  window.addEventListener('online', wake);
  document.addEventListener('visibilitychange', onVisible);
  return () => {
    window.removeEventListener('online', wake);
    document.removeEventListener('visibilitychange', onVisible);
  };
};
