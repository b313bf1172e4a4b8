import { Injectable } from '@nestjs/common';

/** Process-wide counters and gauges, read by GET /metrics, tests and the benchmark. */
@Injectable()
export class Metrics {
  /** Snapshot queries sent to the database (shared by concurrent connects: single flight). */
  snapshotQueries = 0;
  /** Live bus subscriptions: one per followed session, whatever its number of sockets. */
  busSubscriptions = 0;
  /** Open WebSocket connections. */
  wsConnections = 0;
  /** Re-snapshots the server made on its own (bus reconnect, gap, version check). */
  resyncs = 0;
  /** Connects answered from a kept session state, with no read. */
  keptStateConnects = 0;
  /** Kept session states forgotten for a doubt (gap, bus reconnect, version check, malformed event). */
  keptStatesDropped = 0;
}
