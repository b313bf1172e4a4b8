import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { SessionRepository } from '../sessions/session.repository.js';
import { PeriodicVersionCheck } from './periodic-version-check.js';
import { SessionChannels } from './session-channels.js';

/**
 * Closes the crash window between commit and publish. A replica that commits a change and
 * dies before its bus message leaves announces the change to nobody; the 30 s VersionCheck
 * would be the first to notice. Here, every FAST_VERSION_CHECK_MS, one indexed read per
 * thousand followed sessions fetches their versions, and a channel still behind a version
 * the database ALREADY HAD ONE ROUND AGO is re-snapshotted: such a change had a whole
 * interval to arrive as a message, so its message is lost, not on its way. (Comparing with
 * the current round instead would re-snapshot every busy session each round, racing its
 * own in-flight messages.) A lost change reaches clients within about two intervals plus
 * one snapshot read.
 *
 * Why this and not the alternatives, on evidence (README "Failure modes" has the figures):
 * - a transactional `pg_notify` in every write is announced by the commit itself, but each
 *   notifying commit takes a cluster-wide lock: measured with pgbench on this machine's
 *   append statement, it cost a large share of append throughput, against the write path's
 *   goal of thousands of appends per second, and it needs a listening connection per replica;
 * - an outbox table costs every write an extra insert plus a reader and a cleaner;
 * - this check costs nothing per write, and per replica about (followed sessions / 1000)
 *   primary-key reads per interval: its cost is bounded by what a replica follows, and it
 *   also catches a message lost for any other reason (the publisher's bus connection).
 * It runs only with NATS_URL: on the in-process bus a publisher that dies takes its
 * subscribers' sockets with it, and every reconnect reads a fresh snapshot.
 */
@Injectable()
export class CrashWindowCheck extends PeriodicVersionCheck {
  /** The database's versions at the previous round (a session absent there was missing). */
  private previous = new Map<string, number>();
  private previousIds = new Set<string>();

  constructor(channels: SessionChannels, sessions: SessionRepository, @Inject(APP_CONFIG) config: Pick<AppConfig, 'fastVersionCheckMs'>) {
    super(channels, sessions, config.fastVersionCheckMs, new Logger('CrashWindowCheck'), {
      behind: 'followed sessions missed a change announced by nobody; re-snapshotted',
      failed: 'fast version check failed',
    });
  }

  /**
   * Behind a version the database already had one round ago. Holds the channels to the
   * previous round's versions (only sessions checked in both rounds: a newly followed one
   * has just read its snapshot), then remembers this round.
   */
  protected resyncBehind(current: Map<string, number>, checked: string[]): number {
    const both = checked.filter((id) => this.previousIds.has(id));
    const held = new Map<string, number>();
    for (const id of both) {
      const version = this.previous.get(id);
      if (version !== undefined) held.set(id, version);
    }
    this.previous = current;
    this.previousIds = new Set(checked);
    return both.length > 0 ? this.channels.resyncBehind(held, both) : 0;
  }
}
