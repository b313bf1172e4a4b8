import { Global, Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { AuthService } from './auth.service.js';
import { KeyRevocations } from './key-revocations.js';
import { RateLimits } from './rate-limits.js';

@Global()
@Module({
  imports: [UsersModule],
  providers: [AuthService, ApiKeyGuard, KeyRevocations, RateLimits],
  exports: [AuthService, ApiKeyGuard, KeyRevocations, RateLimits],
})
export class AuthModule {}
