import type { WebSocket, RawData } from 'ws';
import { ClientEvent, CloseCode, ErrorCode, ServerEvent, type ErrorCodeValue } from '../protocol/protocol.js';
import type { ChannelMember, SessionChannels } from './session-channels.js';
import type { FeedSink, SessionFeed } from './session-feed.js';
import { frameBytes } from './snapshot-reader.js';
import { takesWireFrames, writeWireFrame } from '../common/wire-frame.js';

const PONG = frameBytes({ type: ServerEvent.Pong });
/** Frames are sent as text; one options object for every send. */
const TEXT = { binary: false } as const;
/** `sync` costs a database read: a burst of this many, then one per second. */
const SYNC_BURST = 5;
/**
 * A client that stops reading would make the server hold every frame for it in memory. Past
 * this much unsent data the socket is dropped; the client reconnects and gets a snapshot,
 * which is all it would have needed anyway.
 */
export const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/** What a connection reports to whoever admitted it. */
export interface ConnectionHost {
  readonly channels: SessionChannels;
  connectionClosed(connection: ClientConnection): void;
  snapshotFailed(connection: ClientConnection, error: unknown): void;
}

const CONNECTION = Symbol('connection');
type Tagged = WebSocket & { [CONNECTION]?: ClientConnection };

/** The connection that owns a socket, if any. */
export function connectionOf(socket: WebSocket): ClientConnection | undefined {
  return (socket as Tagged)[CONNECTION];
}

// One function per event for every socket, rather than closures per socket: an idle
// connection should cost little more than the socket itself.
function onPong(this: WebSocket): void {
  const connection = connectionOf(this);
  if (connection) connection.awaitingPong = false;
}
function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  connectionOf(this)?.onMessage(data, isBinary);
}
function onClose(this: WebSocket): void {
  const connection = connectionOf(this);
  if (connection) connection.host.connectionClosed(connection);
}

/**
 * One WebSocket's side of the protocol: client frames in, server frames out. Replies owed
 * before the first snapshot (a pong, a bad_request) wait for it, because the snapshot must
 * be the first frame of every healthy connection.
 */
export class ClientConnection implements ChannelMember, FeedSink {
  owner = '';
  /** The API key this socket was opened with: its revocation closes the socket (4401). */
  keyId = '';
  sessionId = '';
  feed!: SessionFeed;
  /** Pinged, and no pong since. */
  awaitingPong = false;
  private started = false;
  private deferred?: Buffer[];
  /** `sync` requests that arrived while a snapshot was already on its way. */
  private owedSyncs = 0;
  private syncTokens = SYNC_BURST;
  /** Whole seconds (a small integer, not a boxed number) of the last refill. */
  private syncRefilledAt = seconds();
  /** Frames built once for every socket (events) can be written to this one as they are. */
  private readonly wireFrames: boolean;

  constructor(
    readonly socket: WebSocket,
    readonly host: ConnectionHost,
  ) {
    (socket as Tagged)[CONNECTION] = this;
    this.wireFrames = takesWireFrames(socket);
    socket.on('pong', onPong);
    socket.on('message', onMessage);
    socket.on('close', onClose);
  }

  get isOpen(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  get joined(): boolean {
    return this.feed !== undefined;
  }

  attach(owner: string, sessionId: string, feed: SessionFeed): void {
    this.owner = owner;
    this.sessionId = sessionId;
    this.feed = feed;
  }

  /**
   * The same bytes for every socket: an event's frame, framed for the wire once (`wire`), is
   * written as it is; anything else `ws` frames without copying it (no mask server-side).
   */
  send(data: Buffer, wire?: Buffer): void {
    if (!this.isOpen) return;
    if (this.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.socket.terminate();
      return;
    }
    if (!(wire && this.wireFrames && writeWireFrame(this.socket, wire))) this.socket.send(data, TEXT);
    if (this.started) return;
    this.started = true;
    for (const reply of this.deferred ?? []) this.socket.send(reply, TEXT);
    this.deferred = undefined;
  }

  end(): void {
    this.close(CloseCode.SessionNotFound, 'session not found');
  }

  requestSnapshot(): void {
    this.host.channels.resync(this, 'gap');
  }

  /**
   * Every `sync` gets a snapshot of its own, read after it arrived. One that came while a
   * snapshot was already on its way is answered by a fresh read once that one is out, so
   * answers stay in version order.
   */
  snapshotDelivered(): void {
    if (this.owedSyncs === 0) return;
    this.owedSyncs--;
    this.host.channels.resync(this);
  }

  snapshotFailed(error: unknown): void {
    this.host.snapshotFailed(this, error);
    this.unavailable();
  }

  /** The session (or the key) could not be looked up: retryable error, then 1013. */
  unavailable(): void {
    if (!this.isOpen) return;
    this.socket.send(errorFrame(ErrorCode.SessionUnavailable, 'the session could not be read; try again later', true), TEXT);
    this.close(CloseCode.TryAgainLater, 'session lookup failed');
  }

  /** Its API key holds WS_MAX_CONNECTIONS_PER_KEY connections here already: retryable error, then 1013. */
  overQuota(limit: number): void {
    if (!this.isOpen) return;
    this.socket.send(errorFrame(ErrorCode.RateLimited, `this API key already holds ${limit} WebSocket connections to this server (WS_MAX_CONNECTIONS_PER_KEY); close some before opening more`, true), { binary: false });
    this.close(CloseCode.TryAgainLater, 'too many connections for this API key');
  }

  /** Something unexpected failed on the server: say so (retryable), then 1011. */
  fail(): void {
    if (!this.isOpen) return;
    this.socket.send(errorFrame(ErrorCode.Internal, 'internal error; reconnect', true), TEXT);
    this.close(CloseCode.InternalError, 'internal error');
  }

  close(code: number, reason: string): void {
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) {
      this.socket.close(code, reason);
    }
  }

  onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) return this.reply(errorFrame(ErrorCode.BadRequest, 'binary frames are not accepted; send JSON text frames', false));
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      return this.reply(errorFrame(ErrorCode.BadRequest, 'frame is not valid JSON', false));
    }
    const type = typeof frame === 'object' && frame !== null ? (frame as { type?: unknown }).type : undefined;
    if (type === ClientEvent.Ping) return this.reply(PONG);
    if (type === ClientEvent.Sync) return this.sync();
    this.reply(errorFrame(ErrorCode.BadRequest, `frame type must be "${ClientEvent.Ping}" or "${ClientEvent.Sync}"`, false));
  }

  private sync(): void {
    const now = seconds();
    this.syncTokens = Math.min(SYNC_BURST, this.syncTokens + (now - this.syncRefilledAt));
    if (this.syncTokens < SYNC_BURST) this.syncRefilledAt = now;
    if (this.syncTokens === 0) return this.reply(errorFrame(ErrorCode.RateLimited, 'too many sync requests; wait a second', true));
    this.syncTokens--;
    if (this.joined && this.feed.isLive) this.host.channels.resync(this);
    else this.owedSyncs++;
  }

  private reply(data: Buffer): void {
    if (this.started) this.socket.send(data, TEXT);
    else (this.deferred ??= []).push(data);
  }
}

function seconds(): number {
  return Math.floor(performance.now() / 1000);
}

function errorFrame(code: ErrorCodeValue, message: string, retryable: boolean): Buffer {
  return frameBytes({ type: ServerEvent.Error, error: { code, message, retryable } });
}
