import { describe, expect, it, jest } from '@jest/globals';
import { Metrics } from '../common/metrics.js';
import { encodeChange } from '../events/change-message.js';
import type { BusSubscription, SessionBus } from '../events/session-bus.js';
import { interactionFrame } from '../events/session-events.js';
import { sessionSubject, type Interaction, type Session } from '../protocol/protocol.js';
import { SessionChannels, type ChannelLimits, type ChannelMember } from './session-channels.js';
import { SessionFeed } from './session-feed.js';
import type { SnapshotReader } from './snapshot-reader.js';
import { Snapshot } from './snapshot.js';
import type { SessionRepository } from '../sessions/session.repository.js';
import { IN_FLIGHT_GRACE_MS, VersionCheck } from './version-check.js';

class FakeBus implements SessionBus {
  kind: 'memory' | 'nats' = 'memory';
  connected = true;
  readonly handlers = new Map<string, (payload: Uint8Array, subject: string) => void>();
  resync?: () => void;
  publish(subject: string, payload: Uint8Array): void {
    this.handlers.get(subject)?.(payload, subject);
    this.handlers.get(`${subject.slice(0, subject.lastIndexOf('.'))}.*`)?.(payload, subject);
  }
  async subscribe(subject: string, onMessage: (payload: Uint8Array, subject: string) => void): Promise<BusSubscription> {
    this.handlers.set(subject, onMessage);
    return { unsubscribe: () => this.handlers.delete(subject) };
  }
  onResync(listener: () => void) {
    this.resync = listener;
    return () => undefined;
  }
  async close() {}
}

/** A reader whose reads stay pending until the test resolves them. */
class ManualReader {
  readonly reads: { owner: string; sessionId: string; resolve: (s: Snapshot) => void; reject: (e: unknown) => void }[] = [];
  read(owner: string, sessionId: string): Promise<Snapshot> {
    return new Promise((resolve, reject) => this.reads.push({ owner, sessionId, resolve, reject }));
  }
}

const OWNER = 'owner-1';
const T = '2026-11-30T00:00:00.000Z';

/** Interaction n of a session, as changed at `version`. */
function interaction(sessionId: string, n: number, version: number): Interaction {
  return { id: `i${n}`, session_id: sessionId, created: T, updated: `2026-11-30T00:00:${String(version).padStart(2, '0')}.000Z`, prompt_message: `p${n}`, response_message: '', state: 'waiting', error: '', version };
}

/** A session at `version` whose interaction i(v) was created at version v (2..version). */
function sessionAt(version: number, sessionId = 's'): Session {
  const interactions = Array.from({ length: version - 1 }, (_, i) => interaction(sessionId, i + 2, i + 2));
  return { id: sessionId, name: 'n', owner: OWNER, version, created: T, updated: interactions.at(-1)?.updated ?? T, interactions };
}

const snap = (version: number, sessionId = 's') => new Snapshot(sessionId, sessionAt(version, sessionId));
/** The change that takes a session from version − 1 to version: a new interaction. */
const change = (version: number, sessionId = 's') => encodeChange(interactionFrame(OWNER, version, interaction(sessionId, version, version)));

type Recorder = ChannelMember & { sent: string[]; buffers: Buffer[]; failures: unknown[] };

function member(sessionId: string, since?: number, append = false, owner = OWNER): Recorder {
  const sent: string[] = [];
  const buffers: Buffer[] = [];
  const failures: unknown[] = [];
  const self = {
    owner,
    sessionId,
    sent,
    buffers,
    failures,
    feed: undefined as unknown as SessionFeed,
    snapshotFailed: (error: unknown) => void failures.push(error),
  };
  const send = (data: Buffer) => {
    buffers.push(data);
    const frame = JSON.parse(data.toString()) as { type: string; version: number; since?: number; session: Session | null };
    const label = frame.type === 'session_update' ? `snapshot:${frame.version}` : `${frame.type}:${frame.version}`;
    sent.push(frame.since === undefined ? label : `${label} since ${frame.since} (${frame.session!.interactions.length})`);
  };
  self.feed = new SessionFeed({ send, end: () => undefined, requestSnapshot: () => undefined, snapshotDelivered: () => undefined }, { gapWaitMs: 1000, since, append });
  return self;
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

function setup(limits: Partial<ChannelLimits> = {}) {
  const bus = new FakeBus();
  const reader = new ManualReader();
  const metrics = new Metrics();
  const config: ChannelLimits = {
    sessionLookupTimeoutMs: 1000,
    wsGapWaitMs: 100,
    channelLingerMs: 0,
    channelLingerMax: 100,
    channelLingerMaxBytes: 1024 * 1024,
    busSubscriptionScope: 'owner',
    ...limits,
  };
  const channels = new SessionChannels(bus, reader as unknown as SnapshotReader, metrics, config);
  const publish = (payload: Uint8Array, sessionId = 's') => bus.publish(sessionSubject(OWNER, sessionId), payload);
  /** Joins the first member of session `s` and answers the read it starts with `version`. */
  const firstJoin = async (m: Recorder, version = 2) => {
    void channels.join(m);
    await flush();
    reader.reads[0].resolve(snap(version));
    await flush();
  };
  return { bus, reader, metrics, channels, publish, firstJoin };
}

async function withFakeTimers(test: () => Promise<void>): Promise<void> {
  jest.useFakeTimers({ doNotFake: ['setImmediate'] });
  try {
    await test();
  } finally {
    jest.useRealTimers();
  }
}

describe('SessionChannels', () => {
  it('holds one bus subscription per owner, however many sessions and members, and drops it with the last', async () => {
    const { bus, metrics, channels } = setup();
    const members = Array.from({ length: 30 }, (_, i) => member(`s${i % 3}`));
    const other = member('t', undefined, false, 'other-owner');
    await Promise.all([...members, other].map((m) => channels.join(m)));
    expect(metrics.busSubscriptions).toBe(2);
    expect([...bus.handlers.keys()].sort()).toEqual(['session-updates.other-owner.*', `session-updates.${OWNER}.*`]);
    channels.leave(other);
    expect(metrics.busSubscriptions).toBe(1);
    for (const m of members.slice(0, 29)) channels.leave(m);
    expect(metrics.busSubscriptions).toBe(1);
    channels.leave(members[29]);
    expect(metrics.busSubscriptions).toBe(0);
    expect(bus.handlers.size).toBe(0);
  });

  it("routes an owner's messages to the channel of their session, and counts those of sessions nobody follows here", async () => {
    const { reader, metrics, publish, firstJoin } = setup();
    const m = member('s');
    await firstJoin(m);
    publish(change(3, 'u'), 'u');
    publish(change(3));
    expect(m.sent).toEqual(['snapshot:2', 'interaction_update:3']);
    expect(metrics.busMessagesUnfollowed).toBe(1);
    expect(reader.reads).toHaveLength(1);
  });

  it('reads a cold session of an owner already subscribed at once: the subscription predates the read', async () => {
    const { bus, reader, channels, firstJoin } = setup();
    await firstJoin(member('s'));
    let subscribes = 0;
    const subscribe = bus.subscribe.bind(bus);
    bus.subscribe = (...args) => (subscribes++, subscribe(...args));
    void channels.join(member('u'));
    await flush();
    expect(subscribes).toBe(0);
    expect(reader.reads.map((r) => r.sessionId)).toEqual(['s', 'u']);
  });

  it('shares one snapshot read among members that connect while it runs (single flight)', async () => {
    const { reader, channels } = setup();
    const members = Array.from({ length: 20 }, () => member('s'));
    for (const m of members) void channels.join(m);
    await flush();
    expect(reader.reads).toHaveLength(1);
    reader.reads[0].resolve(snap(7));
    await flush();
    for (const m of members) expect(m.sent).toEqual(['snapshot:7']);
  });

  it('shares one read among connects with different since values, each frame built once', async () => {
    const { reader, channels } = setup();
    const members = [member('s', 3), member('s', 3), member('s', 5), member('s', 9), member('s'), member('s', 7)];
    for (const m of members) void channels.join(m);
    await flush();
    expect(reader.reads).toHaveLength(1);
    reader.reads[0].resolve(snap(7));
    await flush();
    expect(members.map((m) => m.sent[0])).toEqual([
      'snapshot:7 since 3 (4)',
      'snapshot:7 since 3 (4)',
      'snapshot:7 since 5 (2)',
      'snapshot:7',
      'snapshot:7',
      'snapshot:7 since 7 (0)',
    ]);
    // The same bytes, not equal copies: one serialization per distinct frame.
    expect(members[1].buffers[0]).toBe(members[0].buffers[0]);
    expect(members[4].buffers[0]).toBe(members[3].buffers[0]);
  });

  it('hands every member the same bytes of a live event, each form built once', async () => {
    const { reader, channels, publish } = setup();
    const v1 = [member('s'), member('s')];
    const deltas = [member('s', undefined, true), member('s', undefined, true)];
    for (const m of [...v1, ...deltas]) void channels.join(m);
    await flush();
    reader.reads[0].resolve(snap(2));
    await flush();
    publish(encodeChange(interactionFrame(OWNER, 3, { ...interaction('s', 2, 3), response_message: 'ab' }), { append: 'b' }));
    expect(v1[1].buffers[1]).toBe(v1[0].buffers[1]);
    expect(deltas[1].buffers[1]).toBe(deltas[0].buffers[1]);
    expect(v1.map((m) => m.sent[1])).toEqual(['interaction_update:3', 'interaction_update:3']);
    expect(deltas.map((m) => m.sent[1])).toEqual(['interaction_append:3', 'interaction_append:3']);
  });

  it('does not share a read under way once its session changed: the late member reads for itself', async () => {
    const { reader, channels, publish } = setup();
    const early = member('s');
    void channels.join(early);
    await flush();
    publish(change(4));
    const late = member('s');
    void channels.join(late);
    await flush();
    expect(reader.reads).toHaveLength(2);
    reader.reads[0].resolve(snap(3));
    reader.reads[1].resolve(snap(4));
    await flush();
    expect(early.sent).toEqual(['snapshot:3', 'interaction_update:4']);
    expect(late.sent).toEqual(['snapshot:4']);
  });

  it('answers later connects from the kept state, advanced by the session events, with no read', async () => {
    const { reader, channels, metrics, publish } = setup();
    const first = member('s');
    void channels.join(first);
    await flush();
    reader.reads[0].resolve(snap(3));
    await flush();
    publish(change(4));
    publish(change(5));
    const later = [member('s'), member('s', 4)];
    for (const m of later) await channels.join(m);
    expect(reader.reads).toHaveLength(1);
    expect(later.map((m) => m.sent)).toEqual([['snapshot:5'], ['snapshot:5 since 4 (1)']]);
    expect(metrics.keptStateConnects).toBe(2);
    expect(first.sent).toEqual(['snapshot:3', 'interaction_update:4', 'interaction_update:5']);
  });

  it('over NATS too, answers from the kept state at once: no bus round trip, no read', async () => {
    const { bus, reader, channels, publish, firstJoin } = setup();
    bus.kind = 'nats';
    await firstJoin(member('s'));
    publish(change(3));
    const later = member('s');
    await channels.join(later);
    expect(later.sent).toEqual(['snapshot:3']);
    expect(reader.reads).toHaveLength(1);
  });

  it('applies events that arrive out of order once the gap fills, and forgets the state when it does not', async () => {
    await withFakeTimers(async () => {
      const { reader, channels, metrics, publish } = setup();
      void channels.join(member('s'));
      await flush();
      reader.reads[0].resolve(snap(3));
      await flush();
      publish(change(5));
      // While version 4 is missing the state is not served: this connect reads.
      const waiting = member('s');
      void channels.join(waiting);
      await flush();
      expect(reader.reads).toHaveLength(2);
      publish(change(4));
      reader.reads[1].resolve(snap(5));
      await flush();
      const served = member('s');
      await channels.join(served);
      expect(served.sent).toEqual(['snapshot:5']);
      expect(reader.reads).toHaveLength(2);

      publish(change(7));
      jest.advanceTimersByTime(100);
      expect(metrics.keptStatesDropped).toBe(1);
      publish(change(6));
      void channels.join(member('s'));
      await flush();
      expect(reader.reads).toHaveLength(3);
    });
  });

  it('forgets the kept state on a malformed bus message', async () => {
    const { reader, channels, metrics, publish, firstJoin } = setup();
    await firstJoin(member('s'));
    publish(new TextEncoder().encode('{"type":"interaction_update","version":"3"}'));
    expect(metrics.keptStatesDropped).toBe(1);
    void channels.join(member('s'));
    await flush();
    expect(reader.reads).toHaveLength(2);
  });

  it('keeps a channel lingering after its last member, advances it, and serves a reconnect with no read', async () => {
    await withFakeTimers(async () => {
      const { bus, reader, channels, metrics, publish, firstJoin } = setup({ channelLingerMs: 5000 });
      const m = member('s');
      await firstJoin(m);
      channels.leave(m);
      expect(channels.lingering).toBe(1);
      expect(metrics.busSubscriptions).toBe(1);
      publish(change(3));
      jest.advanceTimersByTime(4000);
      const back = member('s', 2);
      await channels.join(back);
      expect(back.sent).toEqual(['snapshot:3 since 2 (1)']);
      expect(reader.reads).toHaveLength(1);
      expect(channels.lingering).toBe(0);

      channels.leave(back);
      jest.advanceTimersByTime(5000);
      expect(channels.size).toBe(0);
      expect(metrics.busSubscriptions).toBe(0);
      expect(bus.handlers.size).toBe(0);
    });
  });

  it('bounds lingering channels by count, oldest out first', async () => {
    const { reader, channels, metrics } = setup({ channelLingerMs: 60_000, channelLingerMax: 2 });
    const members = ['a', 'b', 'c'].map((id) => member(id));
    for (const m of members) void channels.join(m);
    await flush();
    for (const read of reader.reads.splice(0)) read.resolve(snap(2, read.sessionId));
    await flush();
    for (const m of members) channels.leave(m);
    expect(channels.lingering).toBe(2);
    expect(channels.size).toBe(2);
    // Both lingering channels are one owner's: they share its subscription.
    expect(metrics.busSubscriptions).toBe(1);
    void channels.join(member('a'));
    await flush();
    expect(reader.reads.map((r) => r.sessionId)).toEqual(['a']);
  });

  it('closes a lingering channel whose state is forgotten', async () => {
    const { channels, metrics, publish, firstJoin } = setup({ channelLingerMs: 60_000 });
    const m = member('s');
    await firstJoin(m);
    channels.leave(m);
    publish(encodeChange({ type: 'session_update', session_id: 's', owner: OWNER, version: 3, snapshot: false, session: null }));
    expect(channels.size).toBe(0);
    expect(metrics.busSubscriptions).toBe(0);
  });

  it('starts a fresh read for a resync rather than joining an older one', async () => {
    const { reader, channels } = setup();
    const a = member('s');
    void channels.join(a);
    const b = member('s');
    void channels.join(b);
    await flush();
    channels.resync(a);
    expect(reader.reads).toHaveLength(2);
    reader.reads[0].resolve(snap(1));
    await flush();
    expect(a.sent).toEqual([]);
    expect(b.sent).toEqual(['snapshot:1']);
    reader.reads[1].resolve(snap(2));
    await flush();
    expect(a.sent).toEqual(['snapshot:2']);
  });

  it('re-snapshots every member with one read per session when the bus reconnects, and forgets kept states', async () => {
    const { bus, reader, channels, metrics } = setup({ channelLingerMs: 60_000 });
    const members = [member('a'), member('a'), member('b')];
    const gone = member('c');
    for (const m of [...members, gone]) void channels.join(m);
    await flush();
    for (const read of reader.reads.splice(0)) read.resolve(snap(1, read.sessionId));
    await flush();
    channels.leave(gone);
    expect(channels.lingering).toBe(1);
    bus.resync!();
    expect(channels.lingering).toBe(0);
    expect(metrics.keptStatesDropped).toBe(3);
    expect(reader.reads.map((r) => r.sessionId).sort()).toEqual(['a', 'b']);
    for (const read of reader.reads.splice(0)) read.resolve(snap(5, read.sessionId));
    await flush();
    for (const m of members) expect(m.sent).toEqual(['snapshot:1', 'snapshot:5']);
    expect(metrics.resyncs).toBe(2);
  });

  it('reports a failed read to every member waiting for it', async () => {
    const { reader, channels } = setup();
    const members = [member('s'), member('s')];
    for (const m of members) void channels.join(m);
    await flush();
    reader.reads[0].reject(new Error('database down'));
    await flush();
    for (const m of members) expect(m.failures).toHaveLength(1);
  });

  it('fails a member that waited too long, but keeps the read going for the connects that follow', async () => {
    await withFakeTimers(async () => {
      const { reader, channels } = setup();
      const first = member('s');
      const other = member('s');
      void channels.join(first);
      void channels.join(other);
      await flush();
      jest.advanceTimersByTime(1000);
      expect(first.failures).toHaveLength(1);
      channels.leave(first);
      // The retry (and anyone else) waits for the read already under way, not for a new one.
      const retry = member('s');
      void channels.join(retry);
      await flush();
      expect(reader.reads).toHaveLength(1);
      reader.reads[0].resolve(snap(5));
      await flush();
      expect(retry.sent).toEqual(['snapshot:5']);
      expect(first.sent).toEqual([]);
      const later = member('s');
      await channels.join(later);
      expect(later.sent).toEqual(['snapshot:5']);
      expect(reader.reads).toHaveLength(1);
    });
  });

  it('re-snapshots only the channels behind the database, and forgets kept states that differ from it', async () => {
    const { reader, channels, metrics, publish } = setup();
    const a = member('a');
    const b = member('b');
    const c = member('c');
    for (const m of [a, b, c]) void channels.join(m);
    await flush();
    for (const read of reader.reads.splice(0)) read.resolve(snap(2, read.sessionId));
    await flush();
    publish(change(3, 'b'), 'b');
    // a is current; b saw 3 (its event); c is behind; d is not followed here.
    const behind = channels.resyncBehind(new Map([['a', 2], ['b', 3], ['c', 9]]), ['a', 'b', 'c', 'd']);
    expect(behind).toBe(1);
    expect(metrics.keptStatesDropped).toBe(1);
    expect(reader.reads.map((r) => r.sessionId)).toEqual(['c']);
    // A session missing from the database was deleted: its members need a snapshot too.
    reader.reads.splice(0)[0].resolve(snap(9, 'c'));
    await flush();
    expect(channels.resyncBehind(new Map([['a', 2]]), ['a', 'b'])).toBe(1);
    expect(metrics.keptStatesDropped).toBe(2);
  });

  it('keeps a kept state that is ahead of the versions a check read: events that arrived after the read are no doubt', async () => {
    const { reader, channels, metrics, publish, firstJoin } = setup();
    await firstJoin(member('s'), 2);
    publish(change(3));
    publish(change(4));
    // The check read version 3 before event 4 arrived (a busy session): nothing is behind.
    expect(channels.resyncBehind(new Map([['s', 3]]), ['s'])).toBe(0);
    expect(metrics.keptStatesDropped).toBe(0);
    const later = member('s');
    await channels.join(later);
    expect(later.sent).toEqual(['snapshot:4']);
    expect(reader.reads).toHaveLength(1);
  });

  describe('the periodic version check (VersionCheck) on these channels', () => {
    /** The check, reading `database` as the versions of the followed sessions. */
    const versionCheck = (channels: SessionChannels, database: Record<string, number>) =>
      new VersionCheck(channels, { versions: async (ids: string[]) => new Map(ids.filter((id) => id in database).map((id) => [id, database[id]])) } as unknown as SessionRepository, { versionCheckIntervalMs: 30_000 });

    it("does not re-snapshot a busy session for its own events in flight when it read: they arrive within the grace", async () => {
      await withFakeTimers(async () => {
        const { reader, channels, metrics, publish, firstJoin } = setup();
        const m = member('s');
        await firstJoin(m, 2);
        // The database is at 4; events 3 and 4 are still on their way to this process.
        const run = versionCheck(channels, { s: 4 }).run();
        await flush();
        publish(change(3));
        publish(change(4));
        jest.advanceTimersByTime(IN_FLIGHT_GRACE_MS);
        expect(await run).toBe(0);
        expect(metrics.resyncs).toBe(0);
        expect(metrics.keptStatesDropped).toBe(0);
        expect(reader.reads).toHaveLength(1);
        expect(m.sent).toEqual(['snapshot:2', 'interaction_update:3', 'interaction_update:4']);
      });
    });

    it('re-snapshots a session still behind after the grace: its change was lost', async () => {
      await withFakeTimers(async () => {
        const { reader, channels, metrics, firstJoin } = setup();
        const m = member('s');
        await firstJoin(m, 2);
        const run = versionCheck(channels, { s: 3 }).run();
        await flush();
        expect(reader.reads).toHaveLength(1);
        jest.advanceTimersByTime(IN_FLIGHT_GRACE_MS);
        expect(await run).toBe(1);
        expect(metrics.keptStatesDropped).toBe(1);
        expect(reader.reads).toHaveLength(2);
        reader.reads[1].resolve(snap(3));
        await flush();
        expect(m.sent).toEqual(['snapshot:2', 'snapshot:3']);
      });
    });
  });

  describe('with BUS_SUBSCRIPTION_SCOPE=session', () => {
    const perSession = (limits: Partial<ChannelLimits> = {}) => setup({ busSubscriptionScope: 'session', ...limits });

    it('holds one bus subscription per session, however many members, and drops each with its last', async () => {
      const { bus, metrics, channels } = perSession();
      const members = Array.from({ length: 30 }, (_, i) => member(`s${i % 3}`));
      await Promise.all(members.map((m) => channels.join(m)));
      expect(metrics.busSubscriptions).toBe(3);
      expect([...bus.handlers.keys()].sort()).toEqual(['s0', 's1', 's2'].map((id) => sessionSubject(OWNER, id)));
      for (const m of members.filter((_, i) => i % 3 === 0)) channels.leave(m);
      expect(metrics.busSubscriptions).toBe(2);
      expect(bus.handlers.has(sessionSubject(OWNER, 's0'))).toBe(false);
      for (const m of members) channels.leave(m);
      expect(metrics.busSubscriptions).toBe(0);
      expect(bus.handlers.size).toBe(0);
    });

    it("receives only the followed sessions' messages: another session of the same owner never arrives", async () => {
      const { metrics, publish, firstJoin } = perSession();
      const m = member('s');
      await firstJoin(m);
      publish(change(3, 'u'), 'u');
      publish(change(3));
      expect(m.sent).toEqual(['snapshot:2', 'interaction_update:3']);
      expect(metrics.busMessagesUnfollowed).toBe(0);
    });

    it("reads a cold session only once its own subscription is ready, even with the owner's other sessions followed", async () => {
      const { bus, reader, channels, firstJoin } = perSession();
      await firstJoin(member('s'));
      let subscribed!: () => void;
      const subscribe = bus.subscribe.bind(bus);
      bus.subscribe = async (...args) => {
        await new Promise<void>((resolve) => (subscribed = resolve));
        return subscribe(...args);
      };
      const cold = member('u');
      void channels.join(cold);
      await flush();
      expect(reader.reads.map((r) => r.sessionId)).toEqual(['s']);
      subscribed();
      await flush();
      expect(reader.reads.map((r) => r.sessionId)).toEqual(['s', 'u']);
    });

    it('keeps a lingering channel its own subscription, and drops it when the channel goes', async () => {
      await withFakeTimers(async () => {
        const { bus, reader, channels, metrics, publish, firstJoin } = perSession({ channelLingerMs: 5000 });
        const m = member('s');
        await firstJoin(m);
        channels.leave(m);
        publish(change(3));
        expect(metrics.busSubscriptions).toBe(1);
        const back = member('s', 2);
        await channels.join(back);
        expect(back.sent).toEqual(['snapshot:3 since 2 (1)']);
        expect(reader.reads).toHaveLength(1);
        channels.leave(back);
        jest.advanceTimersByTime(5000);
        expect(metrics.busSubscriptions).toBe(0);
        expect(bus.handlers.size).toBe(0);
      });
    });
  });
});
