import { Module } from '@nestjs/common';
import { SessionRepository } from './session.repository.js';
import { SessionsController } from './sessions.controller.js';
import { SessionsService } from './sessions.service.js';

@Module({
  controllers: [SessionsController],
  providers: [SessionRepository, SessionsService],
  exports: [SessionRepository],
})
export class SessionsModule {}
