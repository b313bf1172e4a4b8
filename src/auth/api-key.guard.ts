import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { AuthService } from './auth.service.js';

export type AuthenticatedRequest = Request & { userId: string };

/** REST guard: 401 unless the request carries a valid API key (see extractCredential). */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly auth: AuthService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const userId = await this.auth.authenticate(request.headers, request.originalUrl);
    if (!userId) throw new UnauthorizedException('missing or invalid API key');
    request.userId = userId;
    return true;
  }
}
