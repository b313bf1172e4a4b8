import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { SessionRepository } from '../sessions/session.repository.js';
import { PeriodicVersionCheck } from './periodic-version-check.js';
import { SessionChannels } from './session-channels.js';

/**
 * The safety net under at-most-once delivery. A change whose message was lost without this
 * process noticing (the PUBLISHER's bus connection was down; this one was not, so no
 * resync) would leave clients stale until the next change. Every VERSION_CHECK_INTERVAL_MS,
 * one query per thousand followed sessions compares versions and re-snapshots the ones behind.
 */
@Injectable()
export class VersionCheck extends PeriodicVersionCheck {
  constructor(channels: SessionChannels, sessions: SessionRepository, @Inject(APP_CONFIG) config: Pick<AppConfig, 'versionCheckIntervalMs'>) {
    super(channels, sessions, config.versionCheckIntervalMs, new Logger('VersionCheck'), {
      behind: 'followed sessions were behind the database; re-snapshotted',
      failed: 'version check failed',
    });
  }

  /** Behind the database now. */
  protected resyncBehind(current: Map<string, number>, checked: string[]): number {
    return this.channels.resyncBehind(current, checked);
  }
}
