import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { Metrics } from '../common/metrics.js';
import { withTimeout } from '../common/with-timeout.js';
import { sessionGoneFrame, sessionStateFrame } from '../events/session-events.js';
import { mapSession } from '../sessions/session.dto.js';
import { SessionRepository } from '../sessions/session.repository.js';
import type { Snapshot } from './session-feed.js';

/**
 * Reads a session's committed state as the snapshot frame, in one SQL statement, bounded
 * by SESSION_LOOKUP_TIMEOUT_MS. Rejects when the lookup fails or times out.
 */
@Injectable()
export class SnapshotReader {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async read(owner: string, sessionId: string): Promise<Snapshot> {
    this.metrics.snapshotQueries++;
    const entity = await withTimeout(
      this.sessions.findWithInteractions(sessionId, owner),
      this.config.sessionLookupTimeoutMs,
      'session lookup',
    );
    if (!entity) return { version: 0, exists: false, data: frameBytes(sessionGoneFrame(sessionId)) };
    const session = mapSession(entity);
    return { version: session.version, exists: true, data: frameBytes(sessionStateFrame(session, true)) };
  }
}

export function frameBytes(frame: unknown): Buffer {
  return Buffer.from(JSON.stringify(frame));
}
