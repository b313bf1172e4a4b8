import { Inject, Injectable, Optional } from '@nestjs/common';
import { Metrics } from '../common/metrics.js';
import { crashIfArmedAfterCommit } from '../common/fault-injection.js';
import { sessionSubject, type Interaction, type Session, type VersionedEvent } from '../protocol/protocol.js';
import { encodeChange } from './change-message.js';
import { interactionFrame, sessionGoneFrame, sessionStateFrame, type AppendDelta } from './session-events.js';
import { SESSION_BUS, type SessionBus } from './session-bus.js';

export type { AppendDelta } from './session-events.js';

/**
 * The one way a change leaves this process. Called after the change's transaction has
 * committed, never inside it: a subscriber that re-reads state on receipt must find it.
 * ONE bus message per change (see encodeChange): the v1 frame, serialized once here and
 * forwarded as-is by every process, plus, for an append, the delta from which each process
 * builds the `interaction_append` frame once.
 */
@Injectable()
export class SessionEventsPublisher {
  constructor(
    @Inject(SESSION_BUS) private readonly bus: SessionBus,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  sessionChanged(session: Session): void {
    this.observe(session.updated);
    this.send(session.owner, session.id, sessionStateFrame(session, false));
  }

  sessionDeleted(owner: string, sessionId: string, version: number): void {
    this.send(owner, sessionId, sessionGoneFrame(sessionId, { owner, version }));
  }

  /**
   * `delta` is given exactly when the PATCH held `append` (its `state`/`error` only when the
   * PATCH held them); `interaction` is the interaction after the change, in full either way.
   */
  interactionChanged(owner: string, version: number, interaction: Interaction, delta?: AppendDelta): void {
    this.observe(interaction.updated);
    this.send(owner, interaction.session_id, interactionFrame(owner, version, interaction), delta);
  }

  /**
   * Commit-to-publish, measured from the change's `updated` (stamped by the database clock in
   * the changing statement, so it includes the commit's round trip).
   */
  private observe(updated: string): void {
    this.metrics?.observeCommitToPublish(performance.now() - Math.max(0, Date.now() - Date.parse(updated)));
  }

  private send(owner: string, sessionId: string, frame: VersionedEvent, delta?: AppendDelta): void {
    crashIfArmedAfterCommit();
    this.bus.publish(sessionSubject(owner, sessionId), encodeChange(frame, delta));
  }
}
