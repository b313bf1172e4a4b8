import { CanActivate, ExecutionContext, ForbiddenException, HttpException, HttpStatus, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AuthService } from './auth.service.js';
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

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const address = request.socket.remoteAddress ?? 'unknown';
    refuseIfLimited(http.getResponse<Response>(), this.limits.perAddress.exhausted(address));
    const verdict = await this.auth.check(request.headers, request.originalUrl);
    if (verdict.status === 'invalid') {
      refuseIfLimited(http.getResponse<Response>(), this.limits.perAddress.take(address));
      throw new UnauthorizedException('missing or invalid API key');
    }
    if (verdict.status === 'origin') throw new ForbiddenException('cookie-authenticated request from an origin that is not allowed (ALLOWED_ORIGINS)');
    refuseIfLimited(http.getResponse<Response>(), this.limits.perKey.take(verdict.principal.keyId));
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
