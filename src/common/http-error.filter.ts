import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { STATUS_CODES } from 'node:http';

/**
 * Every REST error is JSON `{statusCode, error, message}`: Nest's HTTP exceptions as they
 * are, body-parser failures as 413/400 with a plain message, anything else as a 500 that
 * reveals nothing but is logged.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly log = new Logger('Http');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const response = host.switchToHttp().getResponse<Response>();
    const { status, message } = this.describe(exception);
    if (response.headersSent) return;
    response.status(status).json({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message });
  }

  private describe(exception: unknown): { status: number; message: string | string[] } {
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      const message = typeof body === 'object' && body !== null && 'message' in body ? (body as { message: string | string[] }).message : String(body);
      return { status: exception.getStatus(), message };
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
