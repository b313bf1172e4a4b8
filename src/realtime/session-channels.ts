import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { Metrics, type ResyncReason } from '../common/metrics.js';
import { TimeoutError } from '../common/with-timeout.js';
import { ChangeMessage } from '../events/change-message.js';
import { SESSION_BUS, type BusSubscription, type SessionBus } from '../events/session-bus.js';
import { ownerSubjects, SESSION_SUBJECT_PREFIX, sessionSubject } from '../protocol/protocol.js';
import { KeptState } from './kept-state.js';
import { Linger } from './linger.js';
import type { SessionFeed } from './session-feed.js';
import { SnapshotReader } from './snapshot-reader.js';

/** One connection's membership of a channel, as the channel sees it. */
export interface ChannelMember {
  readonly owner: string;
  readonly sessionId: string;
  readonly feed: SessionFeed;
  /** The snapshot could not be read (failure or timeout). */
  snapshotFailed(error: unknown): void;
}

/** One snapshot read under way, and the members waiting for it. */
interface Flight {
  /** Members waiting for the read, each with its own SESSION_LOOKUP_TIMEOUT_MS timer. */
  riders: Map<ChannelMember, NodeJS.Timeout>;
  /** An event arrived since the read started: a member joining now lacks it, so it may not board. */
  stale: boolean;
}

/**
 * One bus subscription, held while any channel it covers is: every session of one owner
 * (BUS_SUBSCRIPTION_SCOPE=owner), or one session (=session).
 */
interface Interest {
  /** The owner, or the channel key of the one session. */
  key: string;
  /** Resolves once the bus routes the covered sessions' messages to this process. */
  ready: Promise<void>;
  /** `ready` has resolved: a join need not wait for it. */
  isReady: boolean;
  subscription?: BusSubscription;
  /** Channels (followed or lingering) it covers here. */
  channels: number;
  closed: boolean;
}

interface Channel {
  key: string;
  owner: string;
  sessionId: string;
  members: Set<ChannelMember>;
  /** The subscription that routes the session's messages to this process. */
  subscribed: Interest;
  /** The newest read under way; a connecting member may share it while it is current. */
  flight?: Flight;
  /** The session's state, advanced by its events: connects served from it need no read. */
  kept: KeptState;
  /** Highest version this process has seen, from events and snapshots. */
  seen: number;
  closed: boolean;
}

export type ChannelLimits = Pick<
  AppConfig,
  'sessionLookupTimeoutMs' | 'wsGapWaitMs' | 'channelLingerMs' | 'channelLingerMax' | 'channelLingerMaxBytes' | 'busSubscriptionScope'
>;

/**
 * The sessions this process follows. By default one bus subscription per owner however many
 * of its sessions and sockets are followed here (a wildcard on the owner's subjects: a cold
 * session of an owner already followed here is read at once, with no subscription round
 * trip; the price is that the owner's changes to sessions nobody follows here arrive too,
 * and are dropped, counted in bus_messages_unfollowed); with BUS_SUBSCRIPTION_SCOPE=session,
 * one per session, however many of its sockets. One read shared by the connections that
 * arrive while it runs (single flight),
 * and the session's state kept from that read and advanced by its events, so a later connect
 * is answered from memory. When the last socket leaves, the channel lingers (subscription
 * and state) for CHANNEL_LINGER_MS, within CHANNEL_LINGER_MAX channels and
 * CHANNEL_LINGER_MAX_BYTES, so a reload or a network blip reconnects without a read.
 *
 * Serving the kept state or sharing a read is safe because the channel's subscription
 * predates both: a change committed after the state was read or advanced arrives as an
 * event behind the snapshot. The state is kept only while every change since the read has
 * been seen, in order (KeptState); any doubt forgets it and the next connect reads. A member
 * that needs state newer than what it has (sync, gap, bus reconnect) always reads afresh.
 */
@Injectable()
export class SessionChannels implements OnModuleDestroy {
  private readonly log = new Logger('SessionChannels');
  private readonly channels = new Map<string, Channel>();
  /** Bus subscriptions by what they cover: an owner, or a session's channel key. */
  private readonly interests = new Map<string, Interest>();
  /** Channels nobody follows, kept for a while with their state. */
  private readonly linger: Linger<Channel>;
  /** The read each member waits for: at most one, the newest it asked for. */
  private readonly riding = new WeakMap<ChannelMember, Flight>();
  private readonly stopResync: () => void;

  constructor(
    @Inject(SESSION_BUS) private readonly bus: SessionBus,
    private readonly reader: SnapshotReader,
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) private readonly config: ChannelLimits,
  ) {
    this.linger = new Linger(
      { ms: config.channelLingerMs, max: config.channelLingerMax, maxBytes: config.channelLingerMaxBytes },
      (channel) => this.close(channel),
    );
    this.stopResync = bus.onResync(() => this.resyncAll('bus reconnected', 'bus_reconnect'));
  }

  onModuleDestroy(): void {
    this.stopResync();
    this.linger.clear();
  }

  /** Channels held, followed or lingering. */
  get size(): number {
    return this.channels.size;
  }

  get lingering(): number {
    return this.linger.size;
  }

  /** Version of the state kept for a session here (0: none); what a connect would be served from memory. */
  keptVersion(owner: string, sessionId: string): number {
    return this.channels.get(channelKey(owner, sessionId))?.kept.current?.version ?? 0;
  }

  /** The id string the session's channel already holds, so that its sockets share one copy. */
  sessionIdOf(owner: string, sessionId: string): string {
    return this.channels.get(channelKey(owner, sessionId))?.sessionId ?? sessionId;
  }

  /** Subscribes (or joins the subscription), then gets the member its first snapshot. */
  async join(member: ChannelMember): Promise<void> {
    const channel = this.channelFor(member.owner, member.sessionId);
    channel.members.add(member);
    // Followed, lingering, or a cold session already covered by a subscription: no wait at all.
    if (!channel.subscribed.isReady) {
      try {
        await channel.subscribed.ready;
      } catch (error) {
        this.leave(member);
        member.snapshotFailed(error);
        return;
      }
      if (!channel.members.has(member)) return;
    }
    const kept = channel.kept.current;
    if (kept) {
      this.metrics.keptStateConnects++;
      member.feed.snapshot(kept);
    } else if (channel.flight && !channel.flight.stale) this.board(channel.flight, member);
    else this.fly(channel, [member]);
  }

  leave(member: ChannelMember): void {
    const channel = this.channels.get(channelKey(member.owner, member.sessionId));
    if (!channel || !channel.members.delete(member)) return;
    this.unboard(member);
    if (channel.members.size > 0) return;
    // A read under way is abandoned: a channel nobody follows must not wait on the database.
    if (channel.flight) this.close(channel);
    else this.settle(channel);
  }

  /** A fresh snapshot for one member (client `sync`, or a gap that did not fill). */
  resync(member: ChannelMember, reason: ResyncReason = 'sync'): void {
    const channel = this.channels.get(channelKey(member.owner, member.sessionId));
    if (!channel?.members.has(member)) return;
    this.metrics.resync(reason);
    member.feed.awaitSnapshot();
    this.fly(channel, [member]);
  }

  /** Forgets every kept state and re-snapshots every member: the bus may have dropped messages. */
  resyncAll(why: string, reason: ResyncReason = 'other'): void {
    if (this.channels.size > 0) this.log.log(`re-snapshotting ${this.channels.size} sessions: ${why}`);
    for (const channel of [...this.channels.values()]) {
      channel.kept.drop(why);
      this.resyncChannel(channel, reason);
    }
  }

  /**
   * Of the channels following `checked`, forgets the kept states behind `current` (the
   * database's versions when the check read them; a session absent from it was deleted) and
   * re-snapshots the members of those behind it. A kept state AHEAD of a version read is no
   * doubt: on a busy session, events committed after the read arrive before the check
   * compares. Returns how many channels were behind.
   */
  resyncBehind(current: Map<string, number>, checked: string[]): number {
    const ids = new Set(checked);
    let count = 0;
    for (const channel of [...this.channels.values()]) {
      if (!ids.has(channel.sessionId) || channel.flight) continue;
      const version = current.get(channel.sessionId);
      if (keptBehind(channel, version)) channel.kept.drop('version check: behind the database');
      if (!seenBehind(channel, version) || channel.members.size === 0) continue;
      this.resyncChannel(channel, 'version_check');
      count++;
    }
    return count;
  }

  /** Of `checked`, the sessions whose channel here is behind `current` (as resyncBehind judges), without acting on them. */
  behindOf(current: Map<string, number>, checked: string[]): string[] {
    const ids = new Set(checked);
    const behind = new Set<string>();
    for (const channel of this.channels.values()) {
      if (!ids.has(channel.sessionId) || channel.flight) continue;
      const version = current.get(channel.sessionId);
      if (keptBehind(channel, version) || (channel.members.size > 0 && seenBehind(channel, version))) behind.add(channel.sessionId);
    }
    return [...behind];
  }

  /** Session ids followed or lingering here, for the periodic version check. */
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
    if (existing) {
      this.linger.take(key);
      return existing;
    }
    const subscribed = this.subscribe(owner, sessionId);
    subscribed.channels++;
    const channel: Channel = {
      key,
      owner,
      sessionId,
      members: new Set(),
      subscribed,
      kept: new KeptState(this.config.wsGapWaitMs, (reason) => this.forgotten(channel, reason)),
      seen: 0,
      closed: false,
    };
    this.channels.set(key, channel);
    return channel;
  }

  /** The subscription covering the session, made if there is none: ready once the bus routes its messages here. */
  private subscribe(owner: string, sessionId: string): Interest {
    const perOwner = this.config.busSubscriptionScope === 'owner';
    const key = perOwner ? owner : channelKey(owner, sessionId);
    const existing = this.interests.get(key);
    if (existing) return existing;
    const subscribed: Interest = { key, ready: Promise.resolve(), isReady: false, channels: 0, closed: false };
    const subject = perOwner ? ownerSubjects(owner) : sessionSubject(owner, sessionId);
    subscribed.ready = this.bus.subscribe(subject, this.route).then((subscription) => {
      subscribed.isReady = true;
      this.metrics.busSubscriptions++;
      if (subscribed.closed) this.unsubscribe(subscription);
      else subscribed.subscription = subscription;
    });
    this.interests.set(key, subscribed);
    return subscribed;
  }

  /** A channel closed: the last one a subscription covers takes it with it. */
  private release(subscribed: Interest): void {
    if (--subscribed.channels > 0 || subscribed.closed) return;
    subscribed.closed = true;
    if (this.interests.get(subscribed.key) === subscribed) this.interests.delete(subscribed.key);
    if (subscribed.subscription) this.unsubscribe(subscribed.subscription);
  }

  /** A bus message, to the channel of its session (a subject's tail is the channel key). */
  private readonly route = (payload: Uint8Array, subject: string): void => {
    const channel = this.channels.get(subject.slice(SESSION_SUBJECT_PREFIX.length));
    if (channel) this.deliver(channel, payload);
    else this.metrics.busMessagesUnfollowed++;
  };

  /** A channel's kept state was forgotten; one that only lingered for it goes too. */
  private forgotten(channel: Channel, reason: string): void {
    this.metrics.keptStatesDropped++;
    this.log.debug(`forgot the kept state of ${channel.sessionId}: ${reason}`);
    if (this.linger.has(channel.key)) {
      this.linger.remove(channel.key);
      this.close(channel);
    }
  }

  private close(channel: Channel): void {
    if (channel.closed || channel.members.size > 0) return;
    channel.closed = true;
    channel.kept.clear();
    if (this.channels.get(channel.key) === channel) this.channels.delete(channel.key);
    this.release(channel.subscribed);
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
    const change = ChangeMessage.decode(payload);
    if (!change) {
      this.log.warn('dropped a malformed bus message');
      channel.kept.drop('malformed bus message');
      return;
    }
    channel.seen = Math.max(channel.seen, change.version);
    if (channel.flight) channel.flight.stale = true;
    channel.kept.push(change);
    if (channel.members.size === 0) this.linger.resize(channel.key, channel.kept.size);
    for (const member of channel.members) member.feed.push(change);
    this.metrics.observePublishToSocket(receivedAt);
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
    channel.flight = flight;
    channel.kept.readStarted();
    this.reader.read(channel.owner, channel.sessionId).then(
      (snapshot) => {
        channel.seen = Math.max(channel.seen, snapshot.version);
        if (channel.flight === flight) channel.flight = undefined;
        if (!channel.closed) channel.kept.readLanded(snapshot);
        for (const rider of this.landed(flight)) rider.feed.snapshot(snapshot);
        this.settle(channel);
      },
      (error: unknown) => {
        if (channel.flight === flight) channel.flight = undefined;
        channel.kept.readFailed();
        for (const rider of this.landed(flight)) rider.snapshotFailed(error);
        this.settle(channel);
      },
    );
  }

  /** After a read: a channel whose members all left meanwhile lingers or closes now. */
  private settle(channel: Channel): void {
    if (channel.closed || channel.members.size > 0 || channel.flight || this.linger.has(channel.key)) return;
    const kept = channel.kept.current;
    if (!kept?.exists || !this.linger.add(channel.key, channel, kept.size)) this.close(channel);
  }
}

/** The channel keeps a state older than `version` (undefined: the session is gone). */
function keptBehind(channel: Channel, version: number | undefined): boolean {
  return channel.kept.version > 0 && (version === undefined || channel.kept.version < version);
}

/** The channel has not seen `version` (undefined: the session is gone, which its members must learn). */
function seenBehind(channel: Channel, version: number | undefined): boolean {
  return version === undefined || version > channel.seen;
}

function channelKey(owner: string, sessionId: string): string {
  return `${owner}.${sessionId}`;
}
