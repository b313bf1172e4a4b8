import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { Metrics } from '../common/metrics.js';
import { withTimeout } from '../common/with-timeout.js';
import { StatementCounter } from '../database/statement-counter.js';
import { SESSION_BUS, type SessionBus } from '../events/session-bus.js';

@Controller()
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(SESSION_BUS) private readonly bus: SessionBus,
    private readonly metrics: Metrics,
    private readonly statements: StatementCounter,
  ) {}

  @Get('healthz')
  @HttpCode(200)
  healthz(): { status: string } {
    return { status: 'ok' };
  }

  /** 200 once the database answers and the bus is connected, 503 otherwise. */
  @Get('readyz')
  async readyz(@Res({ passthrough: true }) response: Response): Promise<{ status: string; database: string; bus: string }> {
    const database = await withTimeout(this.dataSource.query('SELECT 1'), 2000, 'database check')
      .then(() => 'ok')
      .catch(() => 'unavailable');
    const bus = this.bus.connected ? 'ok' : 'unavailable';
    const result = { status: database === 'ok' && bus === 'ok' ? 'ok' : 'unavailable', database, bus };
    if (result.status !== 'ok') response.status(503);
    return result;
  }

  @Get('metrics')
  metricsJson() {
    const memory = process.memoryUsage();
    return {
      sql_statements: this.statements.count,
      snapshot_queries: this.metrics.snapshotQueries,
      bus_subscriptions: this.metrics.busSubscriptions,
      ws_connections: this.metrics.wsConnections,
      resyncs: this.metrics.resyncs,
      kept_state_connects: this.metrics.keptStateConnects,
      kept_states_dropped: this.metrics.keptStatesDropped,
      bus: this.bus.kind,
      heap_used: memory.heapUsed,
      rss: memory.rss,
    };
  }
}
