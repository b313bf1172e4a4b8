import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { HealthDto, ReadinessDto } from './health.dto.js';
import { DataSource } from 'typeorm';
import { withTimeout } from '../common/with-timeout.js';
import { SESSION_BUS, type SessionBus } from '../events/session-bus.js';

@ApiTags('operations')
@Controller()
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(SESSION_BUS) private readonly bus: SessionBus,
  ) {}

  @Get('healthz')
  @ApiOkResponse({ type: HealthDto, description: 'The process runs.' })
  @HttpCode(200)
  healthz(): { status: string } {
    return { status: 'ok' };
  }

  /** 200 once the database answers and the bus is connected, 503 otherwise. */
  @Get('readyz')
  @ApiOkResponse({ type: ReadinessDto, description: 'The database and the bus are usable.' })
  @ApiServiceUnavailableResponse({ type: ReadinessDto, description: 'The database or the bus is not usable.' })
  async readyz(@Res({ passthrough: true }) response: Response): Promise<{ status: string; database: string; bus: string }> {
    const database = await withTimeout(this.dataSource.query('SELECT 1'), 2000, 'database check')
      .then(() => 'ok')
      .catch(() => 'unavailable');
    const bus = this.bus.connected ? 'ok' : 'unavailable';
    const result = { status: database === 'ok' && bus === 'ok' ? 'ok' : 'unavailable', database, bus };
    if (result.status !== 'ok') response.status(503);
    return result;
  }
}
