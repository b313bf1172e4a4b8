import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiQuery,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { ApiErrors } from '../common/api-errors.js';
import { InteractionDto, MinimalInteractionDto, SessionDto, SessionListDto } from './session.responses.js';
import { ApiKeyGuard } from '../auth/api-key.guard.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { Interaction, Session, SessionList } from '../protocol/protocol.js';
import { AppendConflictFilter } from './append-conflict.filter.js';
import { PREFERENCE_APPLIED_MINIMAL, prefersMinimalReturn } from './prefer.js';
import { CreateInteractionDto, mapInteractionMinimal, SessionNameDto, UpdateInteractionDto, type InteractionMinimal } from './session.dto.js';
import { SessionsService } from './sessions.service.js';

@ApiTags('sessions')
@ApiExtraModels(InteractionDto, MinimalInteractionDto)
@ApiBearerAuth()
@ApiCookieAuth('access_token')
@ApiErrors(401, 403, 429, 503)
@Controller('sessions')
@UseGuards(ApiKeyGuard)
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Post()
  @ApiCreatedResponse({ type: SessionDto })
  @ApiErrors(400, 413)
  create(@CurrentUser() user: string, @Body() body: SessionNameDto): Promise<Session> {
    return this.sessions.create(user, body.name);
  }

  @Get()
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } })
  @ApiQuery({ name: 'cursor', required: false, type: String, description: 'The `next_cursor` of the previous page.' })
  @ApiOkResponse({ type: SessionListDto })
  @ApiErrors(400)
  list(@CurrentUser() user: string, @Query('limit') limit: unknown, @Query('cursor') cursor: unknown): Promise<SessionList> {
    return this.sessions.list(user, limit, cursor);
  }

  @Get(':id')
  @ApiOkResponse({ type: SessionDto })
  @ApiErrors(404)
  get(@CurrentUser() user: string, @Param('id') id: string): Promise<Session> {
    return this.sessions.get(user, id);
  }

  @Patch(':id')
  @ApiOkResponse({ type: SessionDto, description: 'Publishes `session_update`.' })
  @ApiErrors(400, 404, 413)
  rename(@CurrentUser() user: string, @Param('id') id: string, @Body() body: SessionNameDto): Promise<Session> {
    return this.sessions.rename(user, id, body.name);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted; publishes `session_update` with `session: null`.' })
  @ApiErrors(404)
  delete(@CurrentUser() user: string, @Param('id') id: string): Promise<void> {
    return this.sessions.delete(user, id);
  }

  @Post(':id/interactions')
  @ApiHeader({ name: 'Prefer', required: false, description: '`return=minimal`: answer `{id, session_id, version}` only (with `Preference-Applied`).' })
  @ApiCreatedResponse({ description: 'The Interaction (`state: "waiting"`), or the minimal body with `Prefer: return=minimal`. Publishes `interaction_update`.', schema: { oneOf: [{ $ref: getSchemaPath(InteractionDto) }, { $ref: getSchemaPath(MinimalInteractionDto) }] } })
  @ApiErrors(400, 404, 413)
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
  @ApiBody({ type: UpdateInteractionDto })
  @ApiHeader({ name: 'Prefer', required: false, description: '`return=minimal`: answer `{id, session_id, version}` only (with `Preference-Applied`).' })
  @ApiOkResponse({ description: 'The Interaction, or the minimal body with `Prefer: return=minimal`. Publishes `interaction_update` (and `interaction_append` to `delta=append` sockets).', schema: { oneOf: [{ $ref: getSchemaPath(InteractionDto) }, { $ref: getSchemaPath(MinimalInteractionDto) }] } })
  @ApiErrors(400, 404, 409, 413)
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
