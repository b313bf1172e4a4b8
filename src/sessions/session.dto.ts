import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';
import { INTERACTION_STATES, type Interaction, type InteractionState, type Session, type SessionSummary } from '../protocol/protocol.js';
import type { InteractionEntity } from './interaction.entity.js';
import type { SessionEntity } from './session.entity.js';

export const SESSION_NAME_MAX = 200;
export const PROMPT_MAX = 100_000;
export const ERROR_MAX = 10_000;
export const LIST_LIMIT_MAX = 200;
export const LIST_LIMIT_DEFAULT = 50;

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

/**
 * The PATCH body as OpenAPI describes it. Documentation only: the hot path judges the body
 * with parseInteractionPatch (same rules, same messages), not with a validated class.
 */
export class UpdateInteractionDto {
  @ApiPropertyOptional({ description: 'Replaces the response; not together with `append`.' })
  response_message?: string;

  @ApiPropertyOptional({ minLength: 1, description: 'Added to `response_message` atomically; not together with `response_message`.' })
  append?: string;

  @ApiPropertyOptional({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Only with `append`: the UTF-8 byte length of `response_message` the writer appends to; otherwise 409 with the current one.' })
  offset?: number;

  @ApiPropertyOptional({ enum: INTERACTION_STATES })
  state?: InteractionState;

  @ApiPropertyOptional({ maxLength: ERROR_MAX })
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

/** The `Prefer: return=minimal` answer to a write of an interaction. */
export function mapInteractionMinimal(interaction: Interaction): InteractionMinimal {
  return { id: interaction.id, session_id: interaction.session_id, version: interaction.version };
}

export type InteractionMinimal = Pick<Interaction, 'id' | 'session_id' | 'version'>;

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
