import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, Length } from 'class-validator';
import type { ApiKeyEntity } from './api-key.entity.js';
import type { UserEntity } from './user.entity.js';

export const USER_NAME_MAX = 100;

export class CreateUserDto {
  @ApiProperty({ minLength: 1, maxLength: USER_NAME_MAX, example: 'alice', description: 'Trimmed of surrounding spaces.' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @Length(1, USER_NAME_MAX)
  name: string;
}

export class UserDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  name: string;

  @ApiProperty({ description: 'The first user created is the admin: only it may create users and keys, and revoke keys.' })
  is_admin: boolean;

  @ApiProperty({ format: 'date-time' })
  created: string;
}

export class UserListDto {
  @ApiProperty({ type: [UserDto] })
  users: UserDto[];
}

/** A key as it may be shown: its lookup prefix, never the secret or its hash. */
export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'uuid' })
  user_id: string;

  @ApiProperty({ description: 'The 12 hex digits after `sk_` in the key: enough to recognize it, useless to authenticate.', example: '3f9a0c1b2d4e' })
  prefix: string;

  @ApiProperty({ format: 'date-time' })
  created: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'When the key was revoked; null while it is live.' })
  revoked_at: string | null;
}

export class ApiKeyListDto {
  @ApiProperty({ type: [ApiKeyDto] })
  keys: ApiKeyDto[];
}

export class NewApiKeyDto extends ApiKeyDto {
  @ApiProperty({ description: 'The key itself. Shown in this answer only: it is stored as a hash.', example: 'sk_3f9a0c1b2d4e_…' })
  api_key: string;
}

export class CreatedUserDto {
  @ApiProperty({ format: 'uuid' })
  user_id: string;

  @ApiProperty({ description: 'The new user\'s first key. Shown in this answer only.' })
  api_key: string;

  @ApiProperty({ type: UserDto })
  user: UserDto;

  @ApiProperty({ type: ApiKeyDto })
  key: ApiKeyDto;
}

export function mapUser(entity: UserEntity): UserDto {
  return { id: entity.id, name: entity.name, is_admin: entity.isAdmin, created: entity.created.toISOString() };
}

export function mapKey(entity: ApiKeyEntity): ApiKeyDto {
  return {
    id: entity.id,
    user_id: entity.userId,
    prefix: entity.prefix,
    created: entity.created.toISOString(),
    revoked_at: entity.revokedAt ? entity.revokedAt.toISOString() : null,
  };
}
