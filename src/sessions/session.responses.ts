import { ApiProperty, OmitType } from '@nestjs/swagger';
import { INTERACTION_STATES, type Interaction, type InteractionState, type Session, type SessionList, type SessionSummary } from '../protocol/protocol.js';

/** Answer shapes of the sessions routes, for the OpenAPI document (the wire types are in protocol.ts). */
export class InteractionDto implements Interaction {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) session_id: string;
  @ApiProperty({ format: 'date-time' }) created: string;
  @ApiProperty({ format: 'date-time' }) updated: string;
  @ApiProperty() prompt_message: string;
  @ApiProperty() response_message: string;
  @ApiProperty({ enum: INTERACTION_STATES }) state: InteractionState;
  @ApiProperty({ description: '"" when there is no error' }) error: string;
  @ApiProperty({ description: 'The session version of the last committed change to this interaction.', minimum: 1 }) version: number;
}

export class SessionDto implements Session {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ minLength: 1, maxLength: 200 }) name: string;
  @ApiProperty({ format: 'uuid', description: 'The owning user' }) owner: string;
  @ApiProperty({ minimum: 1, description: 'Grows by exactly 1 with every committed change to the session or its interactions.' }) version: number;
  @ApiProperty({ format: 'date-time' }) created: string;
  @ApiProperty({ format: 'date-time' }) updated: string;
  @ApiProperty({ type: [InteractionDto], description: 'Oldest first.' }) interactions: Interaction[];
}

export class SessionSummaryDto extends OmitType(SessionDto, ['interactions'] as const) implements SessionSummary {}

export class SessionListDto implements SessionList {
  @ApiProperty({ type: [SessionSummaryDto], description: 'Newest `updated` first, ties by id.' }) sessions: SessionSummary[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null on the last page.' }) next_cursor: string | null;
}

/** The body of a write answered with `Prefer: return=minimal`. */
export class MinimalInteractionDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) session_id: string;
  @ApiProperty({ description: 'The interaction\'s new version.' }) version: number;
}
