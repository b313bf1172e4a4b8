import { Inject, Injectable, Optional } from '@nestjs/common';
import { Metrics } from '../common/metrics.js';
import { sessionSubject, type Interaction, type Session, type VersionedEvent } from '../protocol/protocol.js';
import { interactionFrame, sessionGoneFrame, sessionStateFrame } from './session-events.js';
import { SESSION_BUS, type SessionBus } from './session-bus.js';

/**
 * The one way a change leaves this process. Called after the change's transaction has
 * committed, never inside it: a subscriber that re-reads state on receipt must find it.
 * The frame is serialized once here; every process forwards these exact bytes to its sockets.
 */
@Injectable()
export class SessionEventsPublisher {
  private readonly encoder = new TextEncoder();

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

  interactionChanged(owner: string, version: number, interaction: Interaction): void {
    this.observe(interaction.updated);
    this.send(owner, interaction.session_id, interactionFrame(owner, version, interaction));
  }

  /**
   * Commit-to-publish, measured from the change's `updated` (stamped by the database clock in
   * the changing statement, so it includes the commit's round trip).
   */
  private observe(updated: string): void {
    this.metrics?.observeCommitToPublish(performance.now() - Math.max(0, Date.now() - Date.parse(updated)));
  }

  private send(owner: string, sessionId: string, frame: VersionedEvent): void {
    this.bus.publish(sessionSubject(owner, sessionId), this.encoder.encode(JSON.stringify(frame)));
  }
}
