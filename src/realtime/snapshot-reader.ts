import { Injectable } from '@nestjs/common';
import { Metrics } from '../common/metrics.js';
import { mapSession } from '../sessions/session.dto.js';
import { SessionRepository } from '../sessions/session.repository.js';
import { Snapshot } from './snapshot.js';

/**
 * Reads a session's committed state, in one SQL statement: the full state, whatever `since`
 * the waiting connections asked for, so that connects with different `since` values share
 * one read (each derives its delta from it: Snapshot.frame, changedSince). Rejects when the
 * lookup fails. SESSION_LOOKUP_TIMEOUT_MS bounds each connection's wait for it
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
    return new Snapshot(sessionId, entity ? mapSession(entity) : null);
  }
}

export function frameBytes(frame: unknown): Buffer {
  return Buffer.from(JSON.stringify(frame));
}
