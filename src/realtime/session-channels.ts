import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { Metrics, type ResyncReason } from '../common/metrics.js';
import { TimeoutError } from '../common/with-timeout.js';
import { SESSION_BUS, type BusSubscription, type SessionBus } from '../events/session-bus.js';
import { ServerEvent, sessionSubject, type VersionedEvent } from '../protocol/protocol.js';
import type { FeedEvent, SessionFeed, Snapshot } from './session-feed.js';
import { SnapshotReader } from './snapshot-reader.js';

/** One connection's membership of a channel, as the channel sees it. */
export interface ChannelMember {
  readonly owner: string;
  readonly sessionId: string;
  readonly feed: SessionFeed;
  /** The snapshot could not be read (failure or timeout). */
  snapshotFailed(error: unknown): void;
}

/**
 * One snapshot read: under way, then, for SNAPSHOT_SHARE_MS, finished and still current.
 * It may be shared only while no event of its session has arrived since it started: then
 * it is still the session's current committed state, as a read of its own would be.
 */
interface Flight {
  /** Members waiting for the read, each with its own SESSION_LOOKUP_TIMEOUT_MS timer. */
  riders: Map<ChannelMember, NodeJS.Timeout>;
  /** An event arrived since the read started: the result may be older than the session. */
  stale: boolean;
  /** Set once the read has finished and is kept for sharing. */
  result?: Snapshot;
  expiry?: NodeJS.Timeout;
}

interface Channel {
  owner: string;
  sessionId: string;
  members: Set<ChannelMember>;
  /** Resolves once the bus routes the session's messages to this process. */
  ready: Promise<void>;
  subscription?: BusSubscription;
  /** The newest read, under way or finished; a connecting member may share it if it is current. */
  flight?: Flight;
  /** Highest version this process has seen, from events and snapshots. */
  seen: number;
  closed: boolean;
}

/**
 * The sessions this process follows. One bus subscription per session however many sockets
 * follow it (reference-counted, dropped with the last one), and one snapshot read shared by
 * the connections that arrive while it runs or shortly after (single flight), so a
 * reconnect storm after a restart costs about one query per session.
 *
 * Sharing a read is safe because the channel's subscription predates the read, and a read
 * is shared only while no event of the session has arrived since it started: had anything
 * been committed after the read, its event would have marked the read stale (or, if still
 * on its way, it reaches the new member's buffer like any later change). A member that
 * needs state newer than what it already has (sync, gap, bus reconnect) never shares an
 * older read: it starts a fresh one, which later connections may share in turn.
 */
@Injectable()
export class SessionChannels implements OnModuleDestroy {
  private readonly log = new Logger('SessionChannels');
  private readonly channels = new Map<string, Channel>();
  /** The read each member waits for: at most one, the newest it asked for. */
  private readonly riding = new WeakMap<ChannelMember, Flight>();
  private readonly decoder = new TextDecoder();
  private readonly stopResync: () => void;

  constructor(
    @Inject(SESSION_BUS) private readonly bus: SessionBus,
    private readonly reader: SnapshotReader,
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'snapshotShareMs' | 'sessionLookupTimeoutMs'>,
  ) {
    this.stopResync = bus.onResync(() => this.resyncAll('bus reconnected', 'bus_reconnect'));
  }

  onModuleDestroy(): void {
    this.stopResync();
  }

  get size(): number {
    return this.channels.size;
  }

  /** Subscribes (or joins the subscription), then gets the member its first snapshot. */
  async join(member: ChannelMember): Promise<void> {
    const channel = this.channelFor(member.owner, member.sessionId);
    channel.members.add(member);
    try {
      await channel.ready;
    } catch (error) {
      this.leave(member);
      member.snapshotFailed(error);
      return;
    }
    if (!channel.members.has(member)) return;
    const current = channel.flight && !channel.flight.stale ? channel.flight : undefined;
    if (current?.result) member.feed.snapshot(current.result);
    else if (current) this.board(current, member);
    else this.fly(channel, [member]);
  }

  leave(member: ChannelMember): void {
    const key = channelKey(member.owner, member.sessionId);
    const channel = this.channels.get(key);
    if (!channel || !channel.members.delete(member)) return;
    this.unboard(member);
    if (channel.members.size > 0) return;
    channel.closed = true;
    this.retire(channel);
    this.channels.delete(key);
    if (channel.subscription) this.unsubscribe(channel.subscription);
  }

  /** A fresh snapshot for one member (client `sync`, or a gap that did not fill). */
  resync(member: ChannelMember, reason: ResyncReason = 'sync'): void {
    const channel = this.channels.get(channelKey(member.owner, member.sessionId));
    if (!channel?.members.has(member)) return;
    this.metrics.resync(reason);
    member.feed.awaitSnapshot();
    this.fly(channel, [member]);
  }

  /** A fresh snapshot for every member of every channel: the bus may have dropped messages. */
  resyncAll(why: string, reason: ResyncReason = 'other'): void {
    if (this.channels.size > 0) this.log.log(`re-snapshotting ${this.channels.size} sessions: ${why}`);
    for (const channel of this.channels.values()) this.resyncChannel(channel, reason);
  }

  /**
   * Of the channels following `checked`, re-snapshots those behind `current` (the database's
   * versions; a session absent from it was deleted). Returns how many.
   */
  resyncBehind(current: Map<string, number>, checked: string[]): number {
    const ids = new Set(checked);
    let count = 0;
    for (const channel of this.channels.values()) {
      if (!ids.has(channel.sessionId) || (channel.flight && !channel.flight.result)) continue;
      const version = current.get(channel.sessionId);
      if (version !== undefined && version <= channel.seen) continue;
      this.resyncChannel(channel, 'version_check');
      count++;
    }
    return count;
  }

  /** Session ids followed here, for the periodic version check. */
  followedSessionIds(): string[] {
    return [...new Set([...this.channels.values()].map((channel) => channel.sessionId))];
  }

  private resyncChannel(channel: Channel, reason: ResyncReason): void {
    if (channel.members.size === 0) return;
    this.metrics.resync(reason);
    for (const member of channel.members) member.feed.awaitSnapshot();
    this.fly(channel, [...channel.members]);
  }

  private channelFor(owner: string, sessionId: string): Channel {
    const key = channelKey(owner, sessionId);
    const existing = this.channels.get(key);
    if (existing) return existing;
    const channel: Channel = { owner, sessionId, members: new Set(), ready: Promise.resolve(), seen: 0, closed: false };
    channel.ready = this.bus.subscribe(sessionSubject(owner, sessionId), (payload) => this.deliver(channel, payload)).then((subscription) => {
      this.metrics.busSubscriptions++;
      if (channel.closed) this.unsubscribe(subscription);
      else channel.subscription = subscription;
    });
    this.channels.set(key, channel);
    return channel;
  }

  private unsubscribe(subscription: BusSubscription): void {
    this.metrics.busSubscriptions--;
    try {
      subscription.unsubscribe();
    } catch (error) {
      this.log.warn({ err: error }, 'unsubscribe failed');
    }
  }

  private deliver(channel: Channel, payload: Uint8Array): void {
    const receivedAt = performance.now();
    const event = toFeedEvent(this.decoder, payload);
    if (!event) {
      this.log.warn('dropped a malformed bus message');
      return;
    }
    channel.seen = Math.max(channel.seen, event.version);
    if (channel.flight?.result) this.retire(channel);
    else if (channel.flight) channel.flight.stale = true;
    for (const member of channel.members) member.feed.push(event);
    this.metrics.observePublishToSocket(receivedAt);
  }

  /** Stops sharing the channel's newest read. */
  private retire(channel: Channel): void {
    clearTimeout(channel.flight?.expiry);
    channel.flight = undefined;
  }

  /**
   * Makes the member wait for the read, for SESSION_LOOKUP_TIMEOUT_MS at most. A member that
   * times out gets its failure (the client is told to retry), but the read goes on as the
   * channel's read: the retry, and every other connect, waits for that one instead of
   * queueing one more behind it on a database that is already slow.
   */
  private board(flight: Flight, member: ChannelMember): void {
    this.unboard(member);
    this.riding.set(member, flight);
    const timer = setTimeout(() => {
      if (!flight.riders.delete(member)) return;
      this.riding.delete(member);
      member.snapshotFailed(new TimeoutError(`session lookup timed out after ${this.config.sessionLookupTimeoutMs} ms`));
    }, this.config.sessionLookupTimeoutMs);
    timer.unref();
    flight.riders.set(member, timer);
  }

  private unboard(member: ChannelMember): void {
    const flight = this.riding.get(member);
    if (!flight) return;
    clearTimeout(flight.riders.get(member));
    flight.riders.delete(member);
    this.riding.delete(member);
  }

  /** Takes every member waiting for the read off it. */
  private landed(flight: Flight): ChannelMember[] {
    const riders = [...flight.riders.keys()];
    for (const rider of riders) this.unboard(rider);
    return riders;
  }

  private fly(channel: Channel, members: ChannelMember[]): void {
    const flight: Flight = { riders: new Map(), stale: false };
    for (const member of members) this.board(flight, member);
    this.retire(channel);
    channel.flight = flight;
    this.reader.read(channel.owner, channel.sessionId).then(
      (snapshot) => {
        channel.seen = Math.max(channel.seen, snapshot.version);
        const riders = this.landed(flight);
        if (channel.flight === flight) {
          if (flight.stale || this.config.snapshotShareMs === 0 || channel.closed) this.retire(channel);
          else this.keepForSharing(channel, flight, snapshot);
        }
        for (const rider of riders) rider.feed.snapshot(snapshot);
      },
      (error: unknown) => {
        if (channel.flight === flight) this.retire(channel);
        for (const rider of this.landed(flight)) rider.snapshotFailed(error);
      },
    );
  }

  private keepForSharing(channel: Channel, flight: Flight, snapshot: Snapshot): void {
    flight.result = snapshot;
    flight.expiry = setTimeout(() => channel.flight === flight && this.retire(channel), this.config.snapshotShareMs);
    flight.expiry.unref();
  }
}

function channelKey(owner: string, sessionId: string): string {
  return `${owner}.${sessionId}`;
}

function toFeedEvent(decoder: InstanceType<typeof TextDecoder>, payload: Uint8Array): FeedEvent | null {
  try {
    const frame = JSON.parse(decoder.decode(payload)) as VersionedEvent;
    if (typeof frame.version !== 'number') return null;
    const kind = frame.type !== ServerEvent.SessionUpdate ? 'interaction' : frame.session === null ? 'gone' : 'state';
    return { version: frame.version, kind, data: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength) };
  } catch {
    return null;
  }
}
