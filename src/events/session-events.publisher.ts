import { Inject, Injectable } from '@nestjs/common';
import { crashIfArmedAfterCommit } from '../common/fault-injection.js';
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

  constructor(@Inject(SESSION_BUS) private readonly bus: SessionBus) {}

  sessionChanged(session: Session): void {
    this.send(session.owner, session.id, sessionStateFrame(session, false));
  }

  sessionDeleted(owner: string, sessionId: string, version: number): void {
    this.send(owner, sessionId, sessionGoneFrame(sessionId, { owner, version }));
  }

  interactionChanged(owner: string, version: number, interaction: Interaction): void {
    this.send(owner, interaction.session_id, interactionFrame(owner, version, interaction));
  }

  private send(owner: string, sessionId: string, frame: VersionedEvent): void {
    crashIfArmedAfterCommit();
    this.bus.publish(sessionSubject(owner, sessionId), this.encoder.encode(JSON.stringify(frame)));
  }
}
