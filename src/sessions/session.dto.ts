import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsString, Length, MaxLength, MinLength, ValidateIf } from 'class-validator';
import { INTERACTION_STATES, type Interaction, type InteractionState, type Session, type SessionSummary } from '../protocol/protocol.js';
import type { InteractionEntity } from './interaction.entity.js';
import type { SessionEntity } from './session.entity.js';

export const SESSION_NAME_MAX = 200;
export const PROMPT_MAX = 100_000;
export const ERROR_MAX = 10_000;
export const LIST_LIMIT_MAX = 200;
export const LIST_LIMIT_DEFAULT = 50;

/** Present means validated: `null` is never a valid value (the protocol has no null fields). */
const Present = () => ValidateIf((_object, value) => value !== undefined);

export class SessionNameDto {
  @ApiProperty({ minLength: 1, maxLength: SESSION_NAME_MAX })
  @IsString()
  @Length(1, SESSION_NAME_MAX)
  name: string;
}

export class CreateInteractionDto {
  @ApiProperty({ minLength: 1, maxLength: PROMPT_MAX })
  @IsString()
  @Length(1, PROMPT_MAX)
  prompt_message: string;
}

export class UpdateInteractionDto {
  @ApiPropertyOptional({ description: 'Replaces the response; not together with `append`.' })
  @Present()
  @IsString()
  response_message?: string;

  @ApiPropertyOptional({ minLength: 1, description: 'Added to `response_message` atomically; not together with `response_message`.' })
  @Present()
  @IsString()
  @MinLength(1)
  append?: string;

  @ApiPropertyOptional({ enum: INTERACTION_STATES })
  @Present()
  @IsIn(INTERACTION_STATES)
  state?: InteractionState;

  @ApiPropertyOptional({ maxLength: ERROR_MAX })
  @Present()
  @IsString()
  @MaxLength(ERROR_MAX)
  error?: string;
}

export function mapInteraction(entity: InteractionEntity): Interaction {
  return {
    id: entity.id,
    session_id: entity.sessionId,
    created: entity.created.toISOString(),
    updated: entity.updated.toISOString(),
    prompt_message: entity.promptMessage,
    response_message: entity.responseMessage,
    state: entity.state,
    error: entity.error,
    version: entity.version,
  };
}

export function mapSessionSummary(entity: SessionEntity): SessionSummary {
  return {
    id: entity.id,
    name: entity.name,
    owner: entity.ownerId,
    version: entity.version,
    created: entity.created.toISOString(),
    updated: entity.updated.toISOString(),
  };
}

export function mapSession(entity: SessionEntity): Session {
  return { ...mapSessionSummary(entity), interactions: (entity.interactions ?? []).map(mapInteraction) };
}
