import { Body, Controller, Get, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiForbiddenResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard } from '../auth/api-key.guard.js';
import { CurrentPrincipal } from '../auth/current-user.decorator.js';
import type { Principal } from '../auth/principal.js';
import { ApiErrors } from '../common/api-errors.js';
import { ApiKeyListDto, CreatedUserDto, CreateUserDto, NewApiKeyDto, UserDto, UserListDto } from './user.dto.js';
import { KeysService } from './keys.service.js';
import { assertAdmin, UsersService } from './users.service.js';

@ApiTags('users and keys')
@ApiBearerAuth()
@ApiErrors(401, 429, 503)
@Controller('users')
@UseGuards(ApiKeyGuard)
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly keys: KeysService,
  ) {}

  @Post()
  @ApiCreatedResponse({ type: CreatedUserDto, description: 'The user and its first key (shown only here). The first user ever created is the admin.' })
  @ApiErrors(400, 403, 413)
  async create(@CurrentPrincipal() caller: Principal, @Body() body: CreateUserDto): Promise<CreatedUserDto> {
    assertAdmin(caller);
    return this.users.create(body.name);
  }

  @Get()
  @ApiOkResponse({ type: UserListDto })
  @ApiErrors(403)
  async list(@CurrentPrincipal() caller: Principal): Promise<UserListDto> {
    assertAdmin(caller);
    return { users: await this.users.list() };
  }

  @Get('me')
  @ApiOkResponse({ type: UserDto, description: 'The user of the key this request carries.' })
  me(@CurrentPrincipal() caller: Principal): Promise<UserDto> {
    return this.users.get(caller, caller.userId);
  }

  @Get(':id')
  @ApiOkResponse({ type: UserDto })
  @ApiErrors(403, 404)
  get(@CurrentPrincipal() caller: Principal, @Param('id') id: string): Promise<UserDto> {
    return this.users.get(caller, id);
  }

  @Get(':id/keys')
  @ApiOkResponse({ type: ApiKeyListDto, description: 'Every key of the user, revoked ones included, by prefix: never the key or its hash.' })
  @ApiErrors(403, 404)
  async listKeys(@CurrentPrincipal() caller: Principal, @Param('id') id: string): Promise<ApiKeyListDto> {
    return { keys: await this.keys.list(caller, id) };
  }

  @Post(':id/keys')
  @ApiCreatedResponse({ type: NewApiKeyDto, description: 'A new key for the user, shown only here.' })
  @ApiErrors(403, 404)
  createKey(@CurrentPrincipal() caller: Principal, @Param('id') id: string): Promise<NewApiKeyDto> {
    return this.keys.create(caller, id);
  }
}
