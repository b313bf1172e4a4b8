import { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SessionRepository } from '../sessions/session.repository.js';
import { SessionChannels } from './session-channels.js';

const BATCH = 1000;

/** What a periodic check says in the log. */
export interface CheckWording {
  /** Follows the count of re-snapshotted channels. */
  behind: string;
  failed: string;
}

/**
 * What the checks of followed sessions against the database share: a timer (an interval of
 * 0 turns the check off), one round at a time, and one indexed read per thousand followed
 * sessions. Each check brings its rule, `resyncBehind`: which channels the round's versions
 * show to have missed a change (it re-snapshots them and returns how many).
 */
export abstract class PeriodicVersionCheck implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private running = false;

  protected constructor(
    protected readonly channels: SessionChannels,
    private readonly sessions: SessionRepository,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly wording: CheckWording,
  ) {}

  /** Re-snapshots the channels behind, given the versions the database has now for `checked`. */
  protected abstract resyncBehind(current: Map<string, number>, checked: string[]): number | Promise<number>;

  onApplicationBootstrap(): void {
    if (this.intervalMs === 0) return;
    this.timer = setInterval(() => void this.run(), this.intervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** One round; returns how many channels were re-snapshotted. */
  async run(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      const ids = this.channels.followedSessionIds();
      const current = new Map<string, number>();
      for (let start = 0; start < ids.length; start += BATCH) {
        for (const [id, version] of await this.sessions.versions(ids.slice(start, start + BATCH))) current.set(id, version);
      }
      const behind = await this.resyncBehind(current, ids);
      if (behind > 0) this.log.warn(`${behind} ${this.wording.behind}`);
      return behind;
    } catch (error) {
      // The next round tries again; a failed round must not count as "the database had nothing".
      this.log.warn({ err: error }, this.wording.failed);
      return 0;
    } finally {
      this.running = false;
    }
  }
}
