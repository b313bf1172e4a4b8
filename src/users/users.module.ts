import { Module } from '@nestjs/common';
import { KeysController } from './keys.controller.js';
import { KeysService } from './keys.service.js';
import { UsersController } from './users.controller.js';
import { UsersRepository } from './users.repository.js';
import { UsersService } from './users.service.js';

@Module({
  controllers: [UsersController, KeysController],
  providers: [UsersRepository, UsersService, KeysService],
  exports: [UsersRepository, UsersService],
})
export class UsersModule {}
