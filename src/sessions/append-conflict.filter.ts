import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { AppendConflictException } from './append-conflict.exception.js';

/** Answers an AppendConflictException with its `offset`, which the generic error body has no place for. */
@Catch(AppendConflictException)
export class AppendConflictFilter implements ExceptionFilter<AppendConflictException> {
  catch(exception: AppendConflictException, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (!response.headersSent) response.status(409).json(exception.body());
  }
}
