import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import type { InteractionState } from '../protocol/protocol.js';
import { SessionEntity } from './session.entity.js';

@Entity({ name: 'interactions' })
export class InteractionEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ type: 'uuid', name: 'session_id' })
  sessionId: string;

  /**
   * Insertion order. Interactions are inserted while their session's row is locked by the
   * version bump, so `seq` order is version order; timestamps can tie and are not used.
   */
  @Column({ type: 'bigint', insert: false, update: false, select: false })
  seq: string;

  @Column({ type: 'text', name: 'prompt_message' })
  promptMessage: string;

  @Column({ type: 'text', name: 'response_message' })
  responseMessage: string;

  @Column('text')
  state: InteractionState;

  @Column('text')
  error: string;

  /** The session version of the last committed change to this interaction, set in the same statement. */
  @Column('integer')
  version: number;

  @Column({ type: 'timestamptz', precision: 3 })
  created: Date;

  @Column({ type: 'timestamptz', precision: 3 })
  updated: Date;

  @ManyToOne(() => SessionEntity, (session) => session.interactions, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'session_id' })
  session: Relation<SessionEntity>;
}
