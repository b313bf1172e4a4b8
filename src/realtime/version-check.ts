import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { SessionRepository } from '../sessions/session.repository.js';
import { PeriodicVersionCheck } from './periodic-version-check.js';
import { SessionChannels } from './session-channels.js';

/**
 * How long a channel found behind the versions just read may take to receive the events
 * that were on their way when they were read (a busy session always has some; under load,
 * behind seconds of fan-out) before it counts as having missed one.
 */
export const IN_FLIGHT_GRACE_MS = 2000;

/**
 * The safety net under at-most-once delivery. A change whose message was lost without this
 * process noticing (the PUBLISHER's bus connection was down; this one was not, so no
 * resync) would leave clients stale until the next change. Every VERSION_CHECK_INTERVAL_MS,
 * one query per thousand followed sessions reads versions; the channels behind them are
 * looked at again IN_FLIGHT_GRACE_MS later, and those still behind are re-snapshotted.
 * (Judged at once, a busy session would be re-snapshotted for its own events in flight: a
 * full snapshot to every one of its sockets, when the process is busiest.)
 */
@Injectable()
export class VersionCheck extends PeriodicVersionCheck {
  graceMs = IN_FLIGHT_GRACE_MS;
  private stopped = false;

  constructor(channels: SessionChannels, sessions: SessionRepository, @Inject(APP_CONFIG) config: Pick<AppConfig, 'versionCheckIntervalMs'>) {
    super(channels, sessions, config.versionCheckIntervalMs, new Logger('VersionCheck'), {
      behind: 'followed sessions were behind the database; re-snapshotted',
      failed: 'version check failed',
    });
  }

  override onModuleDestroy(): void {
    this.stopped = true;
    super.onModuleDestroy();
  }

  /** Behind the versions read, still, once the events then in flight have had the grace to arrive. */
  protected async resyncBehind(current: Map<string, number>, checked: string[]): Promise<number> {
    const behind = this.channels.behindOf(current, checked);
    if (behind.length === 0) return 0;
    await new Promise((resolve) => setTimeout(resolve, this.graceMs).unref());
    return this.stopped ? 0 : this.channels.resyncBehind(current, behind);
  }
}
