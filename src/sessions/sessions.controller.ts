import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from '../auth/api-key.guard.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { Interaction, Session, SessionList } from '../protocol/protocol.js';
import { CreateInteractionDto, SessionNameDto, UpdateInteractionDto } from './session.dto.js';
import { SessionsService } from './sessions.service.js';

@Controller('sessions')
@UseGuards(ApiKeyGuard)
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Post()
  create(@CurrentUser() user: string, @Body() body: SessionNameDto): Promise<Session> {
    return this.sessions.create(user, body.name);
  }

  @Get()
  list(@CurrentUser() user: string, @Query('limit') limit: unknown, @Query('cursor') cursor: unknown): Promise<SessionList> {
    return this.sessions.list(user, limit, cursor);
  }

  @Get(':id')
  get(@CurrentUser() user: string, @Param('id') id: string): Promise<Session> {
    return this.sessions.get(user, id);
  }

  @Patch(':id')
  rename(@CurrentUser() user: string, @Param('id') id: string, @Body() body: SessionNameDto): Promise<Session> {
    return this.sessions.rename(user, id, body.name);
  }

  @Delete(':id')
  @HttpCode(204)
  delete(@CurrentUser() user: string, @Param('id') id: string): Promise<void> {
    return this.sessions.delete(user, id);
  }

  @Post(':id/interactions')
  addInteraction(@CurrentUser() user: string, @Param('id') id: string, @Body() body: CreateInteractionDto): Promise<Interaction> {
    return this.sessions.addInteraction(user, id, body.prompt_message);
  }

  @Patch(':id/interactions/:iid')
  updateInteraction(
    @CurrentUser() user: string,
    @Param('id') id: string,
    @Param('iid') iid: string,
    @Body() body: UpdateInteractionDto,
  ): Promise<Interaction> {
    return this.sessions.updateInteraction(user, id, iid, body);
  }
}
