import { CanActivate, ExecutionContext, ForbiddenException, HttpException, HttpStatus, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AuthService, type AuthVerdict } from './auth.service.js';
import type { Principal } from './principal.js';
import { RateLimits } from './rate-limits.js';

export type AuthenticatedRequest = Request & { userId: string; principal: Principal };

/**
 * REST guard: 401 unless the request carries a valid API key (see extractCredential), 403 for
 * a cookie sent from an origin that is not allowed, 429 with Retry-After past the rate limit.
 * It runs before the handler, so a refused request changes nothing.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly auth: AuthService,
    private readonly limits: RateLimits,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const response = http.getResponse<Response>();
    refuseIfLimited(response, this.limits.perAddress.exhausted(request.socket.remoteAddress ?? 'unknown'));
    // A cached key (every request of a streaming agent but its first) is judged without a promise.
    const cached = this.auth.checkCached(request.headers, request.originalUrl);
    if (cached) return this.admit(request, response, cached);
    return this.auth.check(request.headers, request.originalUrl).then((verdict) => this.admit(request, response, verdict));
  }

  private admit(request: AuthenticatedRequest, response: Response, verdict: AuthVerdict): boolean {
    if (verdict.status === 'invalid') {
      refuseIfLimited(response, this.limits.perAddress.take(request.socket.remoteAddress ?? 'unknown'));
      throw new UnauthorizedException('missing or invalid API key');
    }
    if (verdict.status === 'origin') throw new ForbiddenException('cookie-authenticated request from an origin that is not allowed (ALLOWED_ORIGINS)');
    refuseIfLimited(response, this.limits.perKey.take(verdict.principal.keyId));
    request.principal = verdict.principal;
    request.userId = verdict.principal.userId;
    return true;
  }
}

function refuseIfLimited(response: Response, waitSeconds: number): void {
  if (waitSeconds === 0) return;
  response.setHeader('Retry-After', String(waitSeconds));
  throw new HttpException(`rate limit exceeded; retry after ${waitSeconds} s`, HttpStatus.TOO_MANY_REQUESTS);
}
