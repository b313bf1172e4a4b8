import { Controller, Get, Headers, HttpException, HttpStatus, Inject, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { StatementCounter } from '../database/statement-counter.js';
import { SESSION_BUS, type SessionBus } from '../events/session-bus.js';
import { ErrorDto } from './api-errors.js';
import { Metrics } from './metrics.js';

/**
 * GET /metrics: the Prometheus text format by default; the JSON figures (what the tests and
 * the benchmark read) for a client that asks for `application/json` before `text/plain`.
 * With METRICS_TOKEN set, both need `Authorization: Bearer <token>`.
 */
@ApiTags('operations')
@Controller()
export class MetricsController {
  private readonly token: Buffer | undefined;

  constructor(
    private readonly metrics: Metrics,
    private readonly statements: StatementCounter,
    @Inject(SESSION_BUS) private readonly bus: SessionBus,
    @Inject(APP_CONFIG) config: AppConfig,
    dataSource: DataSource,
  ) {
    this.token = config.metricsToken ? digest(config.metricsToken) : undefined;
    metrics.watchBus(() => bus.connected);
    const pool = (dataSource.driver as unknown as { master?: { totalCount: number; idleCount: number; waitingCount: number } }).master;
    if (pool) metrics.watchPool(pool);
  }

  @Get('metrics')
  @ApiOperation({ summary: 'Prometheus metrics (text), or the JSON figures with Accept: application/json' })
  @ApiBearerAuth()
  @ApiProduces('text/plain', 'application/json')
  @ApiResponse({ status: 200, description: 'Prometheus text exposition format 0.0.4, or JSON with Accept: application/json.' })
  @ApiResponse({ status: 401, description: 'METRICS_TOKEN is set and the request does not carry it.', type: ErrorDto })
  async scrape(@Headers('authorization') authorization: string | undefined, @Req() request: Request, @Res() response: Response): Promise<void> {
    if (this.token && !this.authorized(authorization)) throw new HttpException('/metrics needs Authorization: Bearer METRICS_TOKEN', HttpStatus.UNAUTHORIZED);
    if (request.accepts(['text/plain', 'application/json']) === 'application/json') {
      response.json(this.figures());
      return;
    }
    response.type(this.metrics.contentType).send(await this.metrics.text());
  }

  private figures() {
    const memory = process.memoryUsage();
    return {
      sql_statements: this.statements.count,
      snapshot_queries: this.metrics.snapshotQueries,
      bus_subscriptions: this.metrics.busSubscriptions,
      bus_messages_unfollowed: this.metrics.busMessagesUnfollowed,
      ws_connections: this.metrics.wsConnections,
      resyncs: this.metrics.resyncs,
      kept_state_connects: this.metrics.keptStateConnects,
      kept_states_dropped: this.metrics.keptStatesDropped,
      bus: this.bus.kind,
      heap_used: memory.heapUsed,
      rss: memory.rss,
    };
  }

  private authorized(authorization: string | undefined): boolean {
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    return Boolean(match && this.token && timingSafeEqual(digest(match[1]), this.token));
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
