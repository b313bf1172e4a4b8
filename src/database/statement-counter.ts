import { Logger } from '@nestjs/common';
import type { Logger as TypeOrmLogger, QueryRunner } from 'typeorm';

/**
 * TypeORM logger that counts every SQL statement the process sends. The counts back the
 * "one statement per snapshot" guarantee: tests and /metrics read them.
 */
export class StatementCounter implements TypeOrmLogger {
  private readonly logger = new Logger('Database');
  private total = 0;

  get count(): number {
    return this.total;
  }

  logQuery(_query: string, _parameters?: unknown[], _runner?: QueryRunner): void {
    this.total++;
  }

  logQueryError(error: string | Error, query: string): void {
    this.total++;
    this.logger.warn({ err: error instanceof Error ? error.message : error, query: query.slice(0, 200) }, 'query failed');
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn({ ms: time, query: query.slice(0, 200) }, 'slow query');
  }

  /** Also how the migration CLI prints `migration:show`. */
  logSchemaBuild(message: string): void {
    this.logger.log(message);
  }

  logMigration(message: string): void {
    this.logger.log(message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn(String(message));
    else this.logger.log(String(message));
  }
}
