import { describe, expect, it } from '@jest/globals';
import { Metrics } from './metrics.js';

describe('Metrics', () => {
  it('keeps its plain fields and exposes them, with resyncs by reason, in the Prometheus format', async () => {
    const metrics = new Metrics();
    metrics.wsConnections++;
    metrics.wsConnections++;
    metrics.busSubscriptions = 3;
    metrics.snapshotQueries += 5;
    metrics.resyncs++;
    metrics.resync('gap');
    metrics.resync('bus_reconnect');
    metrics.observeSnapshotRead(performance.now() - 3);
    metrics.watchBus(() => false);
    metrics.watchPool({ totalCount: 4, idleCount: 1, waitingCount: 2 });
    expect(metrics.resyncs).toBe(3);
    const text = await metrics.text();
    expect(text).toMatch(/^session_sync_ws_connections 2$/m);
    expect(text).toMatch(/^session_sync_bus_subscriptions 3$/m);
    expect(text).toMatch(/^session_sync_snapshot_reads_total 5$/m);
    expect(text).toMatch(/^session_sync_resyncs_total\{reason="other"\} 1$/m);
    expect(text).toMatch(/^session_sync_resyncs_total\{reason="gap"\} 1$/m);
    expect(text).toMatch(/^session_sync_resyncs_total\{reason="bus_reconnect"\} 1$/m);
    expect(text).toMatch(/^session_sync_snapshot_read_seconds_count 1$/m);
    expect(text).toMatch(/^session_sync_bus_connected 0$/m);
    expect(text).toMatch(/^session_sync_db_pool_connections\{state="waiting"\} 2$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    // Scraped twice, a counter fed from a field still reads the field.
    expect(await metrics.text()).toMatch(/^session_sync_snapshot_reads_total 5$/m);
  });

  it('gives each instance a registry of its own', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.wsConnections = 7;
    expect(await b.text()).toMatch(/^session_sync_ws_connections 0$/m);
  });
});
