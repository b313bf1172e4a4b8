import type { Session } from '../../src/protocol/protocol.js';
import type { Api } from '../../test/helpers/api.js';
import type { View } from './follower.js';
import { sleep } from './scenario.js';

/**
 * Appends unique markers (`m<N>;`) round-robin to the first interaction of each session at
 * about `perSecond`, one request at a time, and remembers which were acknowledged (200), so
 * that the database can be audited for lost and duplicated writes afterwards.
 */
export class Writer {
  acknowledged = 0;
  failed = 0;
  /** status → count, for the requests that were not acknowledged. */
  readonly failures = new Map<number, number>();
  private readonly acked = new Set<string>();
  private running = false;
  private done?: Promise<void>;
  private next = 0;

  constructor(
    private readonly api: Api,
    private readonly sessions: Session[],
    private readonly perSecond: number,
  ) {}

  start(): this {
    this.running = true;
    this.done = this.loop();
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  private async loop(): Promise<void> {
    const interval = 1000 / this.perSecond;
    let due = performance.now();
    while (this.running) {
      const marker = `m${this.next}`;
      const session = this.sessions[this.next % this.sessions.length];
      this.next++;
      const reply = await this.api
        .request('PATCH', `/sessions/${session.id}/interactions/${session.interactions[0].id}`, { append: `${marker};` })
        .catch(() => ({ status: 0 }));
      if (reply.status === 200) {
        this.acknowledged++;
        this.acked.add(`${session.id}/${marker}`);
      } else {
        this.failed++;
        this.failures.set(reply.status, (this.failures.get(reply.status) ?? 0) + 1);
      }
      due += interval;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      else due = performance.now();
    }
  }

  /** Acknowledged markers missing from `final`, and markers present more than once. */
  audit(final: Map<string, View>): { lost: number; duplicated: number } {
    let lost = 0;
    let duplicated = 0;
    const seen = new Map<string, number>();
    for (const [id, view] of final) {
      for (const marker of (view.interactions[0]?.response_message ?? '').split(';').filter(Boolean)) {
        seen.set(`${id}/${marker}`, (seen.get(`${id}/${marker}`) ?? 0) + 1);
      }
    }
    for (const key of this.acked) if (!seen.has(key)) lost++;
    for (const count of seen.values()) if (count > 1) duplicated++;
    return { lost, duplicated };
  }
}
