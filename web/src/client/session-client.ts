import {
  ClientEvent,
  CloseCode,
  DELTA_APPEND,
  ServerEvent,
  WS_PATH,
  WsParam,
  type ClientFrame,
  type ServerFrame,
  type SessionUpdateEvent,
} from '../../../src/protocol/protocol.js';
import {
  applyInteractionAppend,
  applyInteractionUpdate,
  applySessionUpdate,
  initialSessionState,
  type ApplyResult,
  type SessionState,
} from './reducer.js';
import {
  SessionClientState,
  type SessionClientListener,
  type SessionClientOptions,
  type SessionClientSnapshot,
  type StopReason,
  type Timers,
  type WebSocketConstructor,
  type WebSocketLike,
} from './types.js';
import { backoff, browserWakeSignals, shouldReconnect, toWebSocketBase } from './utils.js';

/** `WebSocket.OPEN`, spelled out because `ws` and test fakes need not carry the constant. */
const OPEN = 1;
const noop = () => {};

const defaultTimers: Timers = {
  // Looked up at call time so that fake timers installed later still apply.
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

type TimerName = 'reconnectTimer' | 'pingTimer' | 'pongTimer' | 'connectTimer';

/**
 * Follows one session over the service's WebSocket and keeps a local copy of it, applying the
 * protocol's client rules: versions are applied in order exactly once, a gap asks for a
 * snapshot, retryable closes reconnect with jittered backoff and terminal ones stop for good.
 */
export class SessionClient {
  private status = SessionClientState.Idle;
  private reason: StopReason | null = null;
  private data: SessionState = initialSessionState;
  private lastError: SessionClientSnapshot['lastError'] = null;
  private snapshot: SessionClientSnapshot;
  private readonly listeners = new Set<SessionClientListener>();

  private socket: WebSocketLike | null = null;
  private step = 0;
  /** A `sync` is in flight: further gaps before its snapshot need no second one. */
  private syncPending = false;
  private readonly timerHandles: Record<TimerName, unknown> = {
    reconnectTimer: null, pingTimer: null, pongTimer: null, connectTimer: null,
  };
  private stopWake: (() => void) | null = null;

  /** The endpoint URL without `since`, which each connect adds from the state it holds. */
  private readonly baseUrl: string;
  private readonly WebSocketCtor: WebSocketConstructor;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly opts: Required<Pick<SessionClientOptions,
    'sessionId' | 'pingInterval' | 'pongTimeout' | 'connectTimeout' | 'minReconnectDelay' |
    'maxReconnectDelay' | 'restartReconnectDelay' | 'wakeSignals'>>;

  constructor(options: SessionClientOptions) {
    const ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!ctor) throw new Error('SessionClient: no WebSocket implementation; pass options.WebSocket');
    this.WebSocketCtor = ctor;
    this.timers = options.timers ?? defaultTimers;
    this.random = options.random ?? Math.random;
    this.opts = {
      sessionId: options.sessionId,
      pingInterval: options.pingInterval ?? 25_000,
      pongTimeout: options.pongTimeout ?? 10_000,
      connectTimeout: options.connectTimeout ?? 10_000,
      minReconnectDelay: options.minReconnectDelay ?? 500,
      maxReconnectDelay: options.maxReconnectDelay ?? 20_000,
      restartReconnectDelay: options.restartReconnectDelay ?? 1_000,
      wakeSignals: options.wakeSignals ?? browserWakeSignals,
    };
    // Appends arrive as deltas of their own size instead of the whole interaction each time.
    const query = new URLSearchParams({ [WsParam.SessionId]: options.sessionId, [WsParam.Delta]: DELTA_APPEND });
    if (options.accessToken) query.set('access_token', options.accessToken);
    this.baseUrl = `${toWebSocketBase(options.baseUrl)}${WS_PATH}?${query}`;
    this.snapshot = this.buildSnapshot();
  }

  get state(): SessionClientState {
    return this.status;
  }

  /** Current snapshot; the same object until something in it changes. */
  getSnapshot = (): SessionClientSnapshot => this.snapshot;

  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe = (listener: SessionClientListener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Starts following the session. Does nothing unless idle or stopped. */
  connect(): void {
    if (this.status !== SessionClientState.Idle && this.status !== SessionClientState.Stopped) return;
    this.step = 0;
    this.stopWake = this.opts.wakeSignals(() => this.wake());
    this.setState(SessionClientState.Connecting);
    this.openSocket();
  }

  /** Stops for good (until `connect()`); the state stays readable. */
  disconnect(): void {
    this._disconnect(CloseCode.Normal, 'disconnected by the client', false);
  }

  /** The single way into a new status; everything a subscriber sees changes through here or setData. */
  private setState(status: SessionClientState, reason: StopReason | null = null): void {
    if (status === this.status && reason === this.reason) return;
    this.status = status;
    this.reason = reason;
    this.publish();
  }

  private setData(data: SessionState): void {
    if (data === this.data) return;
    this.data = data;
    this.publish();
  }

  private publish(): void {
    this.snapshot = this.buildSnapshot();
    for (const listener of [...this.listeners]) listener(this.snapshot);
  }

  private buildSnapshot(): SessionClientSnapshot {
    const { session, version, gone } = this.data;
    return { session, version, gone, status: this.status, reason: this.reason, lastError: this.lastError };
  }

  /**
   * The one path out of a connection, whoever ends it: the server's close, a missed pong, a
   * gone session, or the caller. Either schedules the next attempt or stops with a reason.
   */
  private _disconnect(code: number, reason: string, reconnect: boolean): void {
    if (this.status === SessionClientState.Idle || this.status === SessionClientState.Stopped) return;
    for (const name of Object.keys(this.timerHandles) as TimerName[]) this.clearTimer(name);
    this.dropSocket();
    if (reconnect) {
      this.setState(SessionClientState.Reconnecting);
      this.scheduleReconnect(code);
      return;
    }
    this.stopWake?.();
    this.stopWake = null;
    this.setState(SessionClientState.Stopped, { code, message: reason });
  }

  private scheduleReconnect(code: number): void {
    // A restart closes every client at once; a short random delay spreads them out without
    // making anyone wait for a backoff the server did nothing to deserve.
    const delay = code === CloseCode.ServiceRestart
      ? Math.floor(this.random() * this.opts.restartReconnectDelay)
      : backoff(this.step, this.opts.minReconnectDelay, this.opts.maxReconnectDelay, this.random);
    this.step += 1;
    this.startTimer('reconnectTimer', delay, () => this.openSocket());
  }

  /** Network back or tab shown: a pending backoff is likely pointless, so try now. */
  private wake(): void {
    if (this.status !== SessionClientState.Reconnecting || this.timerHandles.reconnectTimer === null) return;
    this.clearTimer('reconnectTimer');
    this.openSocket();
  }

  /**
   * With a state in hand, `since` its version: the server then sends only what changed after
   * it. Without one (first connect, or the session gone) the full state is needed.
   */
  private url(): string {
    const { session, version } = this.data;
    return session !== null && version > 0 ? `${this.baseUrl}&${WsParam.Since}=${version}` : this.baseUrl;
  }

  private openSocket(): void {
    let socket: WebSocketLike;
    try {
      socket = new this.WebSocketCtor(this.url());
    } catch (err) {
      // Only a malformed URL throws here, and retrying would not mend it.
      this._disconnect(CloseCode.Abnormal, `cannot open WebSocket: ${(err as Error).message}`, false);
      return;
    }
    this.socket = socket;
    this.syncPending = false;
    socket.onopen = () => this.schedulePing();
    socket.onmessage = (ev: { data: unknown }) => this.onMessage(ev.data);
    socket.onclose = (ev: { code: number; reason: string }) =>
      this._disconnect(ev.code, ev.reason || `connection closed (${ev.code})`, shouldReconnect(ev.code));
    // An error is always followed by a close, which decides what happens next.
    socket.onerror = noop;
    this.startTimer('connectTimer', this.opts.connectTimeout, () =>
      this._disconnect(CloseCode.Abnormal, `no snapshot within ${this.opts.connectTimeout} ms`, true));
  }

  private dropSocket(): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    // Late events of an abandoned socket must not touch the state of its successor.
    socket.onopen = socket.onmessage = socket.onclose = null;
    socket.onerror = noop;
    try {
      socket.close(CloseCode.Normal);
    } catch {
      // Already closing or closed.
    }
  }

  private schedulePing(): void {
    this.startTimer('pingTimer', this.opts.pingInterval, () => {
      this.send({ type: ClientEvent.Ping });
      this.startTimer('pongTimer', this.opts.pongTimeout, () =>
        this._disconnect(CloseCode.Abnormal, `no pong within ${this.opts.pongTimeout} ms`, true));
    });
  }

  private onMessage(raw: unknown): void {
    if (typeof raw !== 'string') return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(raw) as ServerFrame;
    } catch {
      return;
    }
    switch (frame?.type) {
      case ServerEvent.SessionUpdate:
        return this.onSessionUpdate(frame);
      case ServerEvent.InteractionUpdate:
        if (frame.session_id !== this.opts.sessionId) return;
        return this.apply(applyInteractionUpdate(this.data, frame));
      case ServerEvent.InteractionAppend:
        if (frame.session_id !== this.opts.sessionId) return;
        return this.apply(applyInteractionAppend(this.data, frame));
      case ServerEvent.Pong:
        if (this.timerHandles.pongTimer === null) return;
        this.clearTimer('pongTimer');
        return this.schedulePing();
      case ServerEvent.Error:
        this.lastError = frame.error;
        return this.publish();
    }
  }

  private onSessionUpdate(ev: SessionUpdateEvent): void {
    if (ev.session_id !== this.opts.sessionId) return;
    if (ev.snapshot) this.syncPending = false;
    const result = applySessionUpdate(this.data, ev);
    this.apply(result);
    if (result.state.gone) {
      // The server closes with 4404 next; stopping now means a drop in between cannot
      // trigger a pointless reconnect.
      this._disconnect(CloseCode.SessionNotFound, ev.error?.message ?? 'session not found', false);
      return;
    }
    // A delta that could not be merged shows nothing yet: the full snapshot asked for
    // instead is what makes the connection current.
    if (result.needSync || this.status === SessionClientState.Connected) return;
    this.step = 0;
    this.clearTimer('connectTimer');
    this.lastError = null;
    this.setState(SessionClientState.Connected);
  }

  /** Applies a reducer result; a gap asks for one snapshot until it arrives. */
  private apply({ state, needSync }: ApplyResult): void {
    this.setData(state);
    if (needSync && !this.syncPending) {
      this.syncPending = true;
      this.send({ type: ClientEvent.Sync });
    }
  }

  private send(frame: ClientFrame): void {
    if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify(frame));
  }

  private startTimer(name: TimerName, ms: number, fn: () => void): void {
    this.clearTimer(name);
    this.timerHandles[name] = this.timers.setTimeout(() => {
      this.timerHandles[name] = null;
      fn();
    }, ms);
  }

  private clearTimer(name: TimerName): void {
    if (this.timerHandles[name] === null) return;
    this.timers.clearTimeout(this.timerHandles[name]);
    this.timerHandles[name] = null;
  }
}
