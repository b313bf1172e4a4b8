import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { SessionRepository } from '../sessions/session.repository.js';
import { SessionChannels } from './session-channels.js';

const BATCH = 1000;

/**
 * The safety net under at-most-once delivery. A change whose message was lost without this
 * process noticing (the PUBLISHER's bus connection was down; this one was not, so no
 * resync) would leave clients stale until the next change. Every VERSION_CHECK_INTERVAL_MS,
 * one query per thousand followed sessions compares versions and re-snapshots the ones behind.
 */
@Injectable()
export class VersionCheck implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('VersionCheck');
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly channels: SessionChannels,
    private readonly sessions: SessionRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.versionCheckIntervalMs === 0) return;
    this.timer = setInterval(() => void this.run(), this.config.versionCheckIntervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async run(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    let behind = 0;
    try {
      const ids = this.channels.followedSessionIds();
      for (let start = 0; start < ids.length; start += BATCH) {
        const batch = ids.slice(start, start + BATCH);
        behind += this.channels.resyncBehind(await this.sessions.versions(batch), batch);
      }
      if (behind > 0) this.log.warn(`${behind} followed sessions were behind the database; re-snapshotted`);
    } catch (error) {
      this.log.warn({ err: error }, 'version check failed');
    } finally {
      this.running = false;
    }
    return behind;
  }
}
