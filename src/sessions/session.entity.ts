import { Column, Entity, OneToMany, PrimaryColumn, type Relation } from 'typeorm';
import { InteractionEntity } from './interaction.entity.js';

@Entity({ name: 'sessions' })
export class SessionEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ type: 'uuid', name: 'owner_id' })
  ownerId: string;

  @Column('text')
  name: string;

  /** Grows by exactly 1 with every committed change; bumped only by SessionRepository. */
  @Column('integer')
  version: number;

  @Column({ type: 'timestamptz', precision: 3 })
  created: Date;

  @Column({ type: 'timestamptz', precision: 3 })
  updated: Date;

  @OneToMany(() => InteractionEntity, (interaction) => interaction.session)
  interactions: Relation<InteractionEntity[]>;
}
