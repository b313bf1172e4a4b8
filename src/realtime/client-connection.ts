import type { WebSocket, RawData } from 'ws';
import { ClientEvent, CloseCode, ErrorCode, ServerEvent, type ErrorCodeValue } from '../protocol/protocol.js';
import type { ChannelMember, SessionChannels } from './session-channels.js';
import type { FeedSink, SessionFeed } from './session-feed.js';
import { frameBytes } from './snapshot-reader.js';

const PONG = frameBytes({ type: ServerEvent.Pong });
/** `sync` costs a database read: a burst of this many, then one per SYNC_REFILL_MS. */
const SYNC_BURST = 5;
const SYNC_REFILL_MS = 1000;
/**
 * A client that stops reading would make the server hold every frame for it in memory. Past
 * this much unsent data the socket is dropped; the client reconnects and gets a snapshot,
 * which is all it would have needed anyway.
 */
export const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/**
 * One WebSocket's side of the protocol: client frames in, server frames out. Replies owed
 * before the first snapshot (a pong, a bad_request) wait for it, because the snapshot must
 * be the first frame of every healthy connection.
 */
export class ClientConnection implements ChannelMember, FeedSink {
  owner = '';
  sessionId = '';
  feed!: SessionFeed;
  lastPongAt = Date.now();
  private started = false;
  private deferred: Buffer[] = [];
  /** `sync` requests that arrived while a snapshot was already on its way. */
  private owedSyncs = 0;
  private syncTokens = SYNC_BURST;
  private syncRefilledAt = Date.now();

  constructor(
    readonly socket: WebSocket,
    private readonly channels: SessionChannels,
    private readonly onFailure: (error: unknown) => void,
  ) {
    socket.on('pong', () => (this.lastPongAt = Date.now()));
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

  send(data: Buffer): void {
    if (!this.isOpen) return;
    if (this.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.socket.terminate();
      return;
    }
    this.socket.send(data, { binary: false });
    if (this.started) return;
    this.started = true;
    for (const reply of this.deferred) this.socket.send(reply, { binary: false });
    this.deferred = [];
  }

  end(): void {
    this.close(CloseCode.SessionNotFound, 'session not found');
  }

  requestSnapshot(): void {
    this.channels.resync(this);
  }

  /**
   * Every `sync` gets a snapshot of its own, read after it arrived. One that came while a
   * snapshot was already on its way is answered by a fresh read once that one is out, so
   * answers stay in version order.
   */
  snapshotDelivered(): void {
    if (this.owedSyncs === 0) return;
    this.owedSyncs--;
    this.channels.resync(this);
  }

  snapshotFailed(error: unknown): void {
    this.onFailure(error);
    this.unavailable();
  }

  /** The session (or the key) could not be looked up: retryable error, then 1013. */
  unavailable(): void {
    if (!this.isOpen) return;
    this.socket.send(errorFrame(ErrorCode.SessionUnavailable, 'the session could not be read; try again later', true), { binary: false });
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
    this.socket.send(errorFrame(ErrorCode.Internal, 'internal error; reconnect', true), { binary: false });
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
    const now = Date.now();
    this.syncTokens = Math.min(SYNC_BURST, this.syncTokens + Math.floor((now - this.syncRefilledAt) / SYNC_REFILL_MS));
    if (this.syncTokens < SYNC_BURST) this.syncRefilledAt = now;
    if (this.syncTokens === 0) return this.reply(errorFrame(ErrorCode.RateLimited, 'too many sync requests; wait a second', true));
    this.syncTokens--;
    if (this.joined && this.feed.isLive) this.channels.resync(this);
    else this.owedSyncs++;
  }

  private reply(data: Buffer): void {
    if (this.started) this.socket.send(data, { binary: false });
    else this.deferred.push(data);
  }
}

function errorFrame(code: ErrorCodeValue, message: string, retryable: boolean): Buffer {
  return frameBytes({ type: ServerEvent.Error, error: { code, message, retryable } });
}
