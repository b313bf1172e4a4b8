import { Injectable } from '@nestjs/common';
import { Metrics } from '../common/metrics.js';
import { sessionGoneFrame, sessionStateFrame } from '../events/session-events.js';
import { mapSession } from '../sessions/session.dto.js';
import { SessionRepository } from '../sessions/session.repository.js';
import type { Snapshot } from './session-feed.js';

/**
 * Reads a session's committed state as the snapshot frame, in one SQL statement. Rejects
 * when the lookup fails. SESSION_LOOKUP_TIMEOUT_MS bounds each connection's wait for it
 * (SessionChannels), not the read itself, which others may still share.
 */
@Injectable()
export class SnapshotReader {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly metrics: Metrics,
  ) {}

  async read(owner: string, sessionId: string): Promise<Snapshot> {
    this.metrics.snapshotQueries++;
    const startedAt = performance.now();
    const entity = await this.sessions.findWithInteractions(sessionId, owner);
    this.metrics.observeSnapshotRead(startedAt);
    if (!entity) return { version: 0, exists: false, data: frameBytes(sessionGoneFrame(sessionId)) };
    const session = mapSession(entity);
    return { version: session.version, exists: true, data: frameBytes(sessionStateFrame(session, true)) };
  }
}

export function frameBytes(frame: unknown): Buffer {
  return Buffer.from(JSON.stringify(frame));
}
