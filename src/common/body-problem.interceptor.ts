import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { UUID_PATTERN } from '../protocol/protocol.js';
import { bodyProblemOf } from './json-body-guard.js';

/**
 * Answers a request's body problem (kept by jsonBodyGuard / deferBodyParserErrors) once its
 * route is known: after the guards (401, 403, 429 come first), and only when every route
 * parameter is a well-formed id. Every route parameter of this API names a resource by its
 * UUID; one that is malformed names nothing, so the handler answers 404 whatever the body
 * held, as it would with a valid body.
 */
@Injectable()
export class BodyProblemInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const request = context.switchToHttp().getRequest<Request>();
      const problem = bodyProblemOf(request);
      if (problem !== undefined && Object.values(request.params ?? {}).every((value) => typeof value === 'string' && UUID_PATTERN.test(value))) throw problem;
    }
    return next.handle();
  }
}
