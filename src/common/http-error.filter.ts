import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { isDatabaseUnavailable } from '../database/database-unavailable.js';
import { BodyRejected } from './json-body-guard.js';

/**
 * Seconds a client is told to wait when the database is unavailable: long enough not to
 * hammer a database that is restarting, short enough that a blip costs little.
 */
export const RETRY_AFTER_SECONDS = 5;

/**
 * Every REST error is JSON `{statusCode, error, message}`: Nest's HTTP exceptions as they
 * are, body-parser failures as 413/400 with a plain message, a database that cannot answer
 * (refused, silent past DATABASE_TIMEOUT_MS, restarting) as a retryable 503 with
 * Retry-After, anything else as a 500 that reveals nothing but is logged.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly log = new Logger('Http');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const response = host.switchToHttp().getResponse<Response>();
    const { status, message } = this.describe(exception);
    if (response.headersSent) return;
    if (status === HttpStatus.SERVICE_UNAVAILABLE) response.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    response.status(status).json({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message });
  }

  private describe(exception: unknown): { status: number; message: string | string[] } {
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      const message = typeof body === 'object' && body !== null && 'message' in body ? (body as { message: string | string[] }).message : String(body);
      return { status: exception.getStatus(), message };
    }
    if (exception instanceof BodyRejected) return { status: exception.status, message: exception.message };
    if (isDatabaseUnavailable(exception)) {
      this.log.warn({ err: exception }, 'database unavailable');
      return { status: HttpStatus.SERVICE_UNAVAILABLE, message: 'database unavailable, retry later' };
    }
    const type = (exception as { type?: string } | null)?.type;
    if (type === 'entity.too.large') return { status: HttpStatus.PAYLOAD_TOO_LARGE, message: 'request body is larger than BODY_LIMIT' };
    if (type === 'entity.parse.failed') return { status: HttpStatus.BAD_REQUEST, message: 'request body is not valid JSON' };
    if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
      return { status: HttpStatus.UNSUPPORTED_MEDIA_TYPE, message: 'request body encoding is not supported' };
    }
    this.log.error({ err: exception }, 'unhandled error');
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'internal server error' };
  }
}
