import { Controller, Delete, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard } from '../auth/api-key.guard.js';
import { CurrentPrincipal } from '../auth/current-user.decorator.js';
import type { Principal } from '../auth/principal.js';
import { ApiErrors } from '../common/api-errors.js';
import { NewApiKeyDto } from './user.dto.js';
import { KeysService } from './keys.service.js';

@ApiTags('users and keys')
@ApiBearerAuth()
@ApiErrors(401, 429, 503)
@Controller('keys')
@UseGuards(ApiKeyGuard)
export class KeysController {
  constructor(private readonly keys: KeysService) {}

  @Post('rotate')
  @ApiCreatedResponse({ type: NewApiKeyDto, description: 'A new key for the caller, shown only here; the key this request carried is revoked.' })
  @ApiErrors(404)
  rotate(@CurrentPrincipal() caller: Principal): Promise<NewApiKeyDto> {
    return this.keys.rotate(caller);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked: every replica refuses the key within a second and closes its WebSockets with 4401.' })
  @ApiErrors(403, 404)
  revoke(@CurrentPrincipal() caller: Principal, @Param('id') id: string): Promise<void> {
    return this.keys.revoke(caller, id);
  }
}
