import { Global, Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { AuthService } from './auth.service.js';

@Global()
@Module({
  imports: [UsersModule],
  providers: [AuthService, ApiKeyGuard],
  exports: [AuthService, ApiKeyGuard],
})
export class AuthModule {}
