/**
 * Public types of the session client. Wire types (Session, Interaction, frames, codes) come
 * from the shared protocol definition and are re-exported from `index.ts`.
 */
import type { ErrorBody, Session } from '../../../src/protocol/protocol.js';

/**
 * Connection states. Transitions:
 *
 *   idle ──connect()──▶ connecting ──snapshot──▶ connected
 *   connected / connecting ──retryable close, missed pong──▶ reconnecting ──snapshot──▶ connected
 *   any ──terminal close, session gone, disconnect()──▶ stopped ──connect()──▶ connecting
 *
 * `connected` is entered on the first `session_update` of a connection, not on socket open: until
 * the server's snapshot has arrived the state shown may be stale.
 */
export enum SessionClientState {
  Idle = 'idle',
  Connecting = 'connecting',
  Connected = 'connected',
  Reconnecting = 'reconnecting',
  Stopped = 'stopped',
}

/** Why the client stopped: a close code (protocol or client-side) and a readable message. */
export interface StopReason {
  code: number;
  message: string;
}

/**
 * What subscribers see. A new object only when something in it changed, so it can be the
 * snapshot of `useSyncExternalStore` and compared by identity. `session` keeps structural
 * sharing: unchanged interactions are the very same objects as before.
 */
export interface SessionClientSnapshot {
  /** Current session, or `null` before the first snapshot or once it is gone. */
  session: Session | null;
  /** Last applied version; 0 before the first snapshot. */
  version: number;
  status: SessionClientState;
  /** Set in `stopped` only. */
  reason: StopReason | null;
  /** True once the server said the session does not exist (deleted or never the caller's). */
  gone: boolean;
  /** Last `error` frame of the current connection, cleared once connected. */
  lastError: (ErrorBody & { retryable: boolean }) | null;
}

/**
 * The subset of the WebSocket API the client uses; browsers' WebSocket and `ws` both fit.
 * Handler parameters are `any` because each implementation declares its own event classes
 * (the DOM's `MessageEvent`, `ws`'s `WebSocket.MessageEvent`): with a narrower type neither
 * would be assignable here, and passing `ws` would need a cast. The client reads only
 * `data`, `code` and `reason` from them.
 */
export interface WebSocketLike {
  readonly readyState: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onopen: ((ev: any) => void) | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onmessage: ((ev: any) => void) | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onclose: ((ev: any) => void) | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onerror: ((ev: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Timer functions, injectable so tests can drive time. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Subscribes to "worth retrying now" signals (network back online, tab visible again) and
 * returns an unsubscribe function.
 */
export type WakeSignals = (wake: () => void) => () => void;

export interface SessionClientOptions {
  /** Session to follow (canonical UUID). */
  sessionId: string;
  /**
   * Origin of the service: `ws(s)://host[:port]` or `http(s)://…` (converted). Defaults to
   * the page's own origin in a browser; required elsewhere.
   */
  baseUrl?: string;
  /**
   * API key sent as the `access_token` query parameter. Leave it out to rely on the
   * `access_token` cookie instead, which keeps the key out of URLs and proxy logs.
   */
  accessToken?: string;
  /** WebSocket implementation; defaults to the global one. Pass `ws`'s in Node. */
  WebSocket?: WebSocketConstructor;
  /** Interval between app-level pings, ms. Default 25000. */
  pingInterval?: number;
  /** How long to wait for a `pong`, ms. Default 10000. */
  pongTimeout?: number;
  /** How long to wait from opening a socket to its first snapshot, ms. Default 10000. */
  connectTimeout?: number;
  /** Backoff floor, ms: the first retry waits up to this much. Default 500. */
  minReconnectDelay?: number;
  /** Backoff ceiling, ms. Default 20000. */
  maxReconnectDelay?: number;
  /** After close 1012 (server restart) the retry waits a random 0..this ms. Default 1000. */
  restartReconnectDelay?: number;
  timers?: Timers;
  /** Uniform random in [0, 1); default Math.random. */
  random?: () => number;
  /** Defaults to the browser's `online` and `visibilitychange` events, none outside one. */
  wakeSignals?: WakeSignals;
}

export type SessionClientListener = (snapshot: SessionClientSnapshot) => void;
