import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { ApiKeyGuard } from '../auth/api-key.guard.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { Interaction, Session, SessionList } from '../protocol/protocol.js';
import { AppendConflictFilter } from './append-conflict.filter.js';
import { PREFERENCE_APPLIED_MINIMAL, prefersMinimalReturn } from './prefer.js';
import { CreateInteractionDto, mapInteractionMinimal, SessionNameDto, type InteractionMinimal } from './session.dto.js';
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
  async addInteraction(
    @CurrentUser() user: string,
    @Param('id') id: string,
    @Body() body: CreateInteractionDto,
    @Headers('prefer') prefer: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Interaction | InteractionMinimal> {
    return answer(await this.sessions.addInteraction(user, id, body.prompt_message), prefer, response);
  }

  @Patch(':id/interactions/:iid')
  @UseFilters(AppendConflictFilter)
  async updateInteraction(
    @CurrentUser() user: string,
    @Param('id') id: string,
    @Param('iid') iid: string,
    // Judged by parseInteractionPatch, not by the global ValidationPipe: this is the hot path.
    @Body() body: unknown,
    @Headers('prefer') prefer: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Interaction | InteractionMinimal> {
    return answer(await this.sessions.updateInteraction(user, id, iid, body), prefer, response);
  }
}

/** `Prefer: return=minimal` (RFC 7240): the ids and the new version instead of the whole text. */
function answer(interaction: Interaction, prefer: string | undefined, response: Response): Interaction | InteractionMinimal {
  if (!prefersMinimalReturn(prefer)) return interaction;
  response.setHeader('Preference-Applied', PREFERENCE_APPLIED_MINIMAL);
  return mapInteractionMinimal(interaction);
}
