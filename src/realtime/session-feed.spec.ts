import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { SessionFeed, type FeedEvent, type FeedSink } from './session-feed.js';

const event = (version: number, kind: FeedEvent['kind'] = 'interaction'): FeedEvent => ({
  version,
  kind,
  data: Buffer.from(`${kind}:${version}`),
  appendData: Buffer.from(`append-form ${kind}:${version}`),
});
const snapshot = (version: number, exists = true) => ({
  version,
  exists,
  frame: (since?: number) => Buffer.from(since === undefined ? `snapshot:${version}` : `snapshot:${version} since ${since}`),
});

describe('SessionFeed', () => {
  let sent: string[];
  let sink: FeedSink & { ended: number; snapshotsRequested: number };
  let feed: SessionFeed;

  beforeEach(() => {
    jest.useFakeTimers();
    sent = [];
    sink = {
      ended: 0,
      snapshotsRequested: 0,
      send: (data) => void sent.push(data.toString()),
      end() {
        this.ended++;
      },
      requestSnapshot() {
        this.snapshotsRequested++;
      },
      snapshotDelivered: () => undefined,
    };
    feed = new SessionFeed(sink, { gapWaitMs: 100 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('sends nothing before the snapshot, then the snapshot first', () => {
    feed.push(event(5));
    feed.push(event(6));
    expect(sent).toEqual([]);
    feed.snapshot(snapshot(4));
    expect(sent).toEqual(['snapshot:4', 'interaction:5', 'interaction:6']);
  });

  it('drops buffered events the snapshot already holds, and sends the rest in version order', () => {
    for (const v of [7, 3, 5, 6, 4]) feed.push(event(v));
    feed.snapshot(snapshot(5));
    expect(sent).toEqual(['snapshot:5', 'interaction:6', 'interaction:7']);
    expect(feed.version).toBe(7);
  });

  it('sends each live version once, in order, and ignores duplicates and older ones', () => {
    feed.snapshot(snapshot(1));
    for (const v of [2, 2, 1, 3, 3]) feed.push(event(v));
    expect(sent).toEqual(['snapshot:1', 'interaction:2', 'interaction:3']);
  });

  it('holds an event beyond a gap until the missing one arrives, then sends both in order', () => {
    feed.snapshot(snapshot(1));
    feed.push(event(3));
    expect(sent).toEqual(['snapshot:1']);
    feed.push(event(2));
    expect(sent).toEqual(['snapshot:1', 'interaction:2', 'interaction:3']);
    jest.advanceTimersByTime(1000);
    expect(sink.snapshotsRequested).toBe(0);
  });

  it('asks for a snapshot when a gap does not fill within the wait', () => {
    feed.snapshot(snapshot(1));
    feed.push(event(3));
    jest.advanceTimersByTime(99);
    expect(sink.snapshotsRequested).toBe(0);
    jest.advanceTimersByTime(1);
    expect(sink.snapshotsRequested).toBe(1);
    feed.awaitSnapshot();
    feed.push(event(4));
    feed.snapshot(snapshot(3));
    expect(sent).toEqual(['snapshot:1', 'snapshot:3', 'interaction:4']);
  });

  it('lets a full state close a gap: it supersedes every change before it', () => {
    feed.snapshot(snapshot(1));
    feed.push(event(3));
    feed.push(event(4, 'state'));
    feed.push(event(5));
    expect(sent).toEqual(['snapshot:1', 'state:4', 'interaction:5']);
    jest.advanceTimersByTime(1000);
    expect(sink.snapshotsRequested).toBe(0);
  });

  it('sends the deletion whatever is missing before it, then ends', () => {
    feed.snapshot(snapshot(1));
    feed.push(event(3));
    feed.push(event(5, 'gone'));
    feed.push(event(6));
    expect(sent).toEqual(['snapshot:1', 'gone:5']);
    expect(sink.ended).toBe(1);
    expect(feed.isClosed).toBe(true);
  });

  it('ends after a snapshot of a session that does not exist', () => {
    feed.push(event(2));
    feed.snapshot(snapshot(0, false));
    expect(sent).toEqual(['snapshot:0']);
    expect(sink.ended).toBe(1);
  });

  it('after a re-snapshot, keeps version order and drops what the new snapshot holds', () => {
    feed.snapshot(snapshot(2));
    feed.push(event(3));
    feed.awaitSnapshot();
    feed.push(event(4));
    feed.push(event(5));
    expect(sent).toEqual(['snapshot:2', 'interaction:3']);
    feed.snapshot(snapshot(4));
    expect(sent).toEqual(['snapshot:2', 'interaction:3', 'snapshot:4', 'interaction:5']);
  });

  it('sends nothing once closed', () => {
    feed.snapshot(snapshot(1));
    feed.close();
    feed.push(event(2));
    feed.snapshot(snapshot(3));
    expect(sent).toEqual(['snapshot:1']);
  });

  it('sends the delta from since as the first snapshot only; later snapshots are full', () => {
    feed = new SessionFeed(sink, { gapWaitMs: 100, since: 3 });
    feed.snapshot(snapshot(4));
    feed.awaitSnapshot();
    feed.snapshot(snapshot(5));
    expect(sent).toEqual(['snapshot:4 since 3', 'snapshot:5']);
  });

  it('sends the append form of events on a delta=append feed, the v1 form otherwise', () => {
    const v1 = feed;
    const delta = new SessionFeed(sink, { gapWaitMs: 100, append: true });
    v1.snapshot(snapshot(1));
    delta.snapshot(snapshot(1));
    v1.push(event(2));
    delta.push(event(2));
    expect(sent).toEqual(['snapshot:1', 'snapshot:1', 'interaction:2', 'append-form interaction:2']);
  });
});
