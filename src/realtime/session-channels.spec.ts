import { describe, expect, it, jest } from '@jest/globals';
import { Metrics } from '../common/metrics.js';
import type { BusSubscription, SessionBus } from '../events/session-bus.js';
import { sessionSubject } from '../protocol/protocol.js';
import { SessionChannels, type ChannelMember } from './session-channels.js';
import { SessionFeed, type Snapshot } from './session-feed.js';
import type { SnapshotReader } from './snapshot-reader.js';

class FakeBus implements SessionBus {
  readonly kind = 'memory' as const;
  connected = true;
  readonly handlers = new Map<string, (payload: Uint8Array) => void>();
  resync?: () => void;
  publish(subject: string, payload: Uint8Array): void {
    this.handlers.get(subject)?.(payload);
  }
  async subscribe(subject: string, onMessage: (payload: Uint8Array) => void): Promise<BusSubscription> {
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
const snap = (version: number): Snapshot => ({ version, exists: true, data: Buffer.from(`snapshot:${version}`) });
const change = (version: number) => Buffer.from(JSON.stringify({ type: 'interaction_update', version }));

function member(sessionId: string): ChannelMember & { sent: string[]; failures: unknown[] } {
  const sent: string[] = [];
  const failures: unknown[] = [];
  const self = {
    owner: OWNER,
    sessionId,
    sent,
    failures,
    feed: undefined as unknown as SessionFeed,
    snapshotFailed: (error: unknown) => void failures.push(error),
  };
  self.feed = new SessionFeed({ send: (data) => void sent.push(data.toString()), end: () => undefined, requestSnapshot: () => undefined, snapshotDelivered: () => undefined }, 1000);
  return self;
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

function setup(snapshotShareMs = 0) {
  const bus = new FakeBus();
  const reader = new ManualReader();
  const metrics = new Metrics();
  const channels = new SessionChannels(bus, reader as unknown as SnapshotReader, metrics, { snapshotShareMs, sessionLookupTimeoutMs: 1000 });
  return { bus, reader, metrics, channels };
}

describe('SessionChannels', () => {
  it('holds one bus subscription per session, however many members, and drops it with the last', async () => {
    const { bus, metrics, channels } = setup();
    const members = Array.from({ length: 30 }, (_, i) => member(`s${i % 3}`));
    await Promise.all(members.map((m) => channels.join(m)));
    expect(metrics.busSubscriptions).toBe(3);
    expect(bus.handlers.size).toBe(3);
    for (const m of members.slice(0, 29)) channels.leave(m);
    expect(metrics.busSubscriptions).toBe(1);
    channels.leave(members[29]);
    expect(metrics.busSubscriptions).toBe(0);
    expect(bus.handlers.size).toBe(0);
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

  it('does not share a read under way once its session changed: the late member reads for itself', async () => {
    const { bus, reader, channels } = setup();
    const early = member('s');
    void channels.join(early);
    await flush();
    bus.publish(sessionSubject(OWNER, 's'), change(4));
    const late = member('s');
    void channels.join(late);
    await flush();
    expect(reader.reads).toHaveLength(2);
    reader.reads[0].resolve(snap(3));
    reader.reads[1].resolve(snap(4));
    await flush();
    // The first frame of each is a snapshot current when its read ran; the change follows it only where needed.
    expect(early.sent).toEqual(['snapshot:3', JSON.stringify({ type: 'interaction_update', version: 4 })]);
    expect(late.sent).toEqual(['snapshot:4']);
  });

  it('shares a finished read with later connects while the session is unchanged, for the share window only', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    try {
      const { bus, reader, channels, metrics } = setup(2000);
      void channels.join(member('s'));
      await flush();
      reader.reads[0].resolve(snap(3));
      await flush();
      const later = Array.from({ length: 5 }, () => member('s'));
      for (const m of later) await channels.join(m);
      expect(reader.reads).toHaveLength(1);
      for (const m of later) expect(m.sent).toEqual(['snapshot:3']);
      expect(metrics.snapshotQueries).toBe(0);
      jest.advanceTimersByTime(2000);
      void channels.join(member('s'));
      await flush();
      expect(reader.reads).toHaveLength(2);
      reader.reads[1].resolve(snap(3));
      await flush();
      // A change retires the shared read at once.
      bus.publish(sessionSubject(OWNER, 's'), change(4));
      void channels.join(member('s'));
      await flush();
      expect(reader.reads).toHaveLength(3);
    } finally {
      jest.useRealTimers();
    }
  });

  it('starts a fresh read for a resync rather than joining an older one', async () => {
    const { reader, channels } = setup();
    const a = member('s');
    void channels.join(a);
    await flush();
    reader.reads[0].resolve(snap(1));
    await flush();
    const b = member('s');
    void channels.join(b);
    await flush();
    channels.resync(a);
    expect(reader.reads).toHaveLength(3);
    reader.reads[1].resolve(snap(1));
    await flush();
    expect(a.sent).toEqual(['snapshot:1']);
    reader.reads[2].resolve(snap(2));
    await flush();
    expect(a.sent).toEqual(['snapshot:1', 'snapshot:2']);
    expect(b.sent).toEqual(['snapshot:1']);
  });

  it('re-snapshots every member with one read per session when the bus reconnects', async () => {
    const { bus, reader, channels, metrics } = setup();
    const members = [member('a'), member('a'), member('b')];
    for (const m of members) void channels.join(m);
    await flush();
    for (const read of reader.reads.splice(0)) read.resolve(snap(1));
    await flush();
    bus.resync!();
    expect(reader.reads.map((r) => r.sessionId).sort()).toEqual(['a', 'b']);
    for (const read of reader.reads.splice(0)) read.resolve(snap(5));
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
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    try {
      const { reader, channels } = setup(2000);
      const first = member('s');
      void channels.join(first);
      await flush();
      jest.advanceTimersByTime(1000);
      expect(first.failures).toHaveLength(1);
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
    } finally {
      jest.useRealTimers();
    }
  });

  it('re-snapshots only the channels behind the database', async () => {
    const { bus, reader, channels } = setup();
    const a = member('a');
    const b = member('b');
    const c = member('c');
    for (const m of [a, b, c]) void channels.join(m);
    await flush();
    for (const read of reader.reads.splice(0)) read.resolve(snap(2));
    await flush();
    bus.publish(sessionSubject(OWNER, 'b'), change(3));
    // a is current; b saw 3 (its event); c is behind; d is not followed here.
    const behind = channels.resyncBehind(new Map([['a', 2], ['b', 3], ['c', 9]]), ['a', 'b', 'c', 'd']);
    expect(behind).toBe(1);
    expect(reader.reads.map((r) => r.sessionId)).toEqual(['c']);
    // A session missing from the database was deleted: its members need a snapshot too.
    reader.reads.splice(0);
    expect(channels.resyncBehind(new Map([['a', 2]]), ['a', 'b'])).toBe(1);
  });
});
