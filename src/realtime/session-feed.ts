/**
 * A versioned event as it travels from the bus to one socket: its frames (built once per
 * process, shared by every socket) and just enough of its content to order it.
 */
export interface FeedEvent {
  readonly version: number;
  /** `state`: full session (PATCH); `interaction`: one interaction; `gone`: session deleted. */
  readonly kind: 'state' | 'interaction' | 'gone';
  /** The v1 frame. */
  readonly data: Buffer;
  /** The frame for `delta=append` sockets (an `interaction_append` for an append). */
  readonly appendData: Buffer;
  /** `data` and `appendData` framed for the wire once for every socket (see textFrame), when the event has them. */
  readonly dataWire?: Buffer;
  readonly appendWire?: Buffer;
}

/** A session's state at one version, as frames: full, or a delta from `since`. */
export interface SnapshotSource {
  readonly version: number;
  /** False: the session is missing, deleted or not the caller's. */
  readonly exists: boolean;
  frame(since?: number): Buffer;
}

export interface FeedOptions {
  /** How long an event ahead of a missing version waits for it. */
  gapWaitMs: number;
  /** `delta=append`: appends leave as `interaction_append`. */
  append?: boolean;
  /** `since=V`: the FIRST snapshot is the delta from V; every later one is full. */
  since?: number;
}

export interface FeedSink {
  /** `wire`: the same frame already framed for the wire, which the sink may write as it is. */
  send(data: Buffer, wire?: Buffer): void;
  /** Ends the connection (session gone). */
  end(): void;
  /** A gap did not fill within the wait: a fresh snapshot is needed. */
  requestSnapshot(): void;
  /** A snapshot and the events buffered behind it have been sent. */
  snapshotDelivered(): void;
}

/**
 * The snapshot-then-live ordering of ONE connection. Its guarantees:
 * - nothing leaves before the first snapshot: events that arrive first are buffered;
 * - after every snapshot, buffered events at or below its version are dropped (already in
 *   it) and the rest follow in version order;
 * - live events leave in version order, each at most once; an event ahead of a missing
 *   version waits up to `gapWaitMs` for it (publishers commit in version order but may
 *   publish out of it), then the feed asks for a snapshot instead of sending out of order.
 *
 * The caller must subscribe before the snapshot is READ, and push every event from then on.
 * The naive order — read the state, then subscribe — loses any change committed between
 * the read and the subscription: it is in neither, and core NATS will never send it again.
 * Subscribing first makes such a change arrive in the buffer, where its version says
 * whether the snapshot already had it.
 */
export class SessionFeed {
  private mode: 'buffering' | 'live' | 'closed' = 'buffering';
  /** Highest version sent to the socket. */
  private sent = 0;
  /** Events waiting: all of them while buffering, those beyond a gap while live (allocated when needed). */
  private pending?: FeedEvent[];
  private gapTimer?: NodeJS.Timeout;
  private readonly gapWaitMs: number;
  private readonly append: boolean;
  private since: number | undefined;

  constructor(
    private readonly sink: FeedSink,
    options: FeedOptions,
  ) {
    this.gapWaitMs = options.gapWaitMs;
    this.append = options.append ?? false;
    this.since = options.since;
  }

  get isLive(): boolean {
    return this.mode === 'live';
  }

  get isClosed(): boolean {
    return this.mode === 'closed';
  }

  get version(): number {
    return this.sent;
  }

  push(event: FeedEvent): void {
    if (this.mode === 'buffering') (this.pending ??= []).push(event);
    else if (this.mode === 'live') this.accept(event);
  }

  /** Stop sending until the next snapshot; events keep being buffered meanwhile. */
  awaitSnapshot(): void {
    if (this.mode === 'closed') return;
    this.mode = 'buffering';
    this.clearGapTimer();
  }

  snapshot(snapshot: SnapshotSource): void {
    if (this.mode === 'closed') return;
    this.clearGapTimer();
    this.sink.send(snapshot.frame(this.since));
    this.since = undefined;
    if (!snapshot.exists) return this.close();
    this.mode = 'live';
    this.sent = Math.max(this.sent, snapshot.version);
    const buffered = this.pending;
    this.pending = undefined;
    if (buffered) for (const event of buffered.sort(byVersion)) this.accept(event);
    if (this.mode === 'live') this.sink.snapshotDelivered();
  }

  close(): void {
    if (this.mode === 'closed') return;
    this.mode = 'closed';
    this.pending = undefined;
    this.clearGapTimer();
    this.sink.end();
  }

  private accept(event: FeedEvent): void {
    if (this.mode !== 'live') return;
    if (!this.isNext(event)) {
      if (event.version > this.sent) {
        (this.pending ??= []).push(event);
        this.armGapTimer();
      }
      return;
    }
    this.emit(event);
    // The event may have closed a gap: send what is now contiguous.
    const pending = this.pending;
    if (!pending) return;
    pending.sort(byVersion);
    while (this.mode === 'live' && pending.length > 0) {
      const next = pending[0];
      if (this.isNext(next)) this.emit(pending.shift()!);
      else if (next.version <= this.sent) pending.shift();
      else break;
    }
    if (pending.length === 0) {
      if (this.pending === pending) this.pending = undefined;
      this.clearGapTimer();
    }
  }

  /**
   * Whether the event can leave now: the next version, or a full state beyond the last one
   * (it supersedes every change before it), or the deletion (it ends the stream whatever is
   * still missing before it).
   */
  private isNext(event: FeedEvent): boolean {
    if (event.kind === 'gone') return true;
    if (event.kind === 'state') return event.version > this.sent;
    return event.version === this.sent + 1;
  }

  private emit(event: FeedEvent): void {
    if (this.append) this.sink.send(event.appendData, event.appendWire);
    else this.sink.send(event.data, event.dataWire);
    if (event.kind === 'gone') return this.close();
    this.sent = event.version;
  }

  private armGapTimer(): void {
    if (this.gapTimer) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = undefined;
      if (this.mode === 'live' && this.pending?.length) this.sink.requestSnapshot();
    }, this.gapWaitMs);
    this.gapTimer.unref?.();
  }

  private clearGapTimer(): void {
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
  }
}

function byVersion(a: FeedEvent, b: FeedEvent): number {
  return a.version - b.version;
}
