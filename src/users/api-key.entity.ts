import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An API key is stored only as its SHA-256; `prefix` finds the row without revealing the key. */
@Entity({ name: 'api_keys' })
export class ApiKeyEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ type: 'uuid', name: 'user_id' })
  userId: string;

  @Column('text')
  prefix: string;

  @Column({ type: 'bytea', name: 'key_hash' })
  keyHash: Buffer;

  @Column({ type: 'timestamptz', precision: 3 })
  created: Date;

  /** Set once, when the key is revoked; a revoked key never authenticates again. */
  @Column({ type: 'timestamptz', precision: 3, name: 'revoked_at', nullable: true })
  revokedAt: Date | null;
}
