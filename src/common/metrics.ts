import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Why the server re-read a snapshot on its own or on request. */
export type ResyncReason = 'sync' | 'gap' | 'bus_reconnect' | 'version_check' | 'other';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Process-wide counters and gauges: GET /metrics serves them to Prometheus (text format) and,
 * as JSON, to the tests and the benchmark. The plain fields are what the code increments and
 * the tests read; the registry reads them when scraped, so the hot path pays nothing more than
 * a `++`. Each application has a registry of its own (tests run several in one process).
 */
@Injectable()
export class Metrics {
  /** Snapshot queries sent to the database (shared by concurrent connects: single flight). */
  snapshotQueries = 0;
  /** Live bus subscriptions: one per owner with sessions followed (or lingering) here, or one per such session with BUS_SUBSCRIPTION_SCOPE=session, whatever their number of sockets. */
  busSubscriptions = 0;
  /** Bus messages of a subscribed owner's sessions that nobody follows here: received and dropped. */
  busMessagesUnfollowed = 0;
  /** Open WebSocket connections. */
  wsConnections = 0;
  /** Connects answered from a kept session state, with no read. */
  keptStateConnects = 0;
  /** Kept session states forgotten for a doubt (gap, bus reconnect, version check, malformed event). */
  keptStatesDropped = 0;
  /** Re-snapshots the server made (bus reconnect, gap, version check, client `sync`), all reasons. */
  get resyncs(): number {
    return this.resyncTotal;
  }
  set resyncs(value: number) {
    // Code that only counts (`resyncs++`) gives no reason.
    if (value > this.resyncTotal) this.resyncsBy.inc({ reason: 'other' }, value - this.resyncTotal);
    this.resyncTotal = value;
  }

  readonly registry = new Registry();
  private resyncTotal = 0;
  private readonly resyncsBy: Counter<'reason'>;
  private readonly snapshotSeconds: Histogram;
  private readonly commitToPublishSeconds: Histogram;
  private readonly publishToSocketSeconds: Histogram;
  private readonly dbPool = new Map<'total' | 'idle' | 'waiting', () => number>();
  private busConnected: () => boolean = () => true;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const self = this;
    new Gauge({ name: 'session_sync_ws_connections', help: 'Open WebSocket connections.', registers, collect() { this.set(self.wsConnections); } });
    new Gauge({ name: 'session_sync_bus_subscriptions', help: 'Live bus subscriptions: one per owner with sessions followed or lingering here (per session with BUS_SUBSCRIPTION_SCOPE=session).', registers, collect() { this.set(self.busSubscriptions); } });
    new Counter({ name: 'session_sync_bus_messages_unfollowed_total', help: 'Bus messages of a subscribed owner\'s sessions that nobody follows here, dropped.', registers, collect() { this.reset(); this.inc(self.busMessagesUnfollowed); } });
    new Counter({ name: 'session_sync_snapshot_reads_total', help: 'Snapshot queries sent to the database.', registers, collect() { this.reset(); this.inc(self.snapshotQueries); } });
    new Counter({ name: 'session_sync_kept_state_connects_total', help: 'Connects answered from a kept session state, with no read.', registers, collect() { this.reset(); this.inc(self.keptStateConnects); } });
    new Counter({ name: 'session_sync_kept_states_dropped_total', help: 'Kept session states forgotten for a doubt.', registers, collect() { this.reset(); this.inc(self.keptStatesDropped); } });
    this.resyncsBy = new Counter({ name: 'session_sync_resyncs_total', help: 'Snapshots re-read for live connections, by reason.', labelNames: ['reason'], registers });
    this.snapshotSeconds = new Histogram({ name: 'session_sync_snapshot_read_seconds', help: 'Time to read one snapshot from the database.', buckets: LATENCY_BUCKETS, registers });
    this.commitToPublishSeconds = new Histogram({ name: 'session_sync_commit_to_publish_seconds', help: 'From a change\'s commit to its publication on the bus.', buckets: LATENCY_BUCKETS, registers });
    this.publishToSocketSeconds = new Histogram({ name: 'session_sync_publish_to_socket_seconds', help: 'From a bus message\'s arrival to its frame handed to every socket of the session.', buckets: LATENCY_BUCKETS, registers });
    new Gauge({ name: 'session_sync_bus_connected', help: '1 while the bus (NATS or in-process) can carry messages.', registers, collect() { this.set(self.busConnected() ? 1 : 0); } });
    new Gauge({
      name: 'session_sync_db_pool_connections',
      help: 'Database pool connections by state (total, idle, waiting = requests queued for one).',
      labelNames: ['state'],
      registers,
      collect() {
        for (const [state, read] of self.dbPool) this.set({ state }, read());
      },
    });
  }

  resync(reason: ResyncReason): void {
    this.resyncTotal++;
    this.resyncsBy.inc({ reason });
  }

  /** Seconds since `startedAt` (a `performance.now()` reading) for one snapshot read. */
  observeSnapshotRead(startedAt: number): void {
    this.snapshotSeconds.observe((performance.now() - startedAt) / 1000);
  }

  observeCommitToPublish(committedAt: number): void {
    this.commitToPublishSeconds.observe((performance.now() - committedAt) / 1000);
  }

  observePublishToSocket(receivedAt: number): void {
    this.publishToSocketSeconds.observe((performance.now() - receivedAt) / 1000);
  }

  /** How the bus and the database pool are read at scrape time (set once at start). */
  watchBus(connected: () => boolean): void {
    this.busConnected = connected;
  }

  watchPool(pool: { totalCount: number; idleCount: number; waitingCount: number }): void {
    this.dbPool.set('total', () => pool.totalCount);
    this.dbPool.set('idle', () => pool.idleCount);
    this.dbPool.set('waiting', () => pool.waitingCount);
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
