import type { Follower } from './follower.js';
import { sleep } from './scenario.js';
import type { Stack } from './stack.js';

/**
 * Measures how long clients stay behind the database: it polls the sessions' versions
 * every 50 ms, notes when each version first appeared, and for every client the age of the
 * oldest version it does not hold yet. `maxLagMs` is the worst such age seen.
 */
export class StalenessProbe {
  maxLagMs = 0;
  private readonly firstSeen = new Map<string, [number, number][]>();
  private running = false;
  private done?: Promise<void>;

  constructor(
    private readonly stack: Stack,
    private readonly followers: Follower[],
  ) {}

  start(): this {
    this.running = true;
    this.done = this.loop();
    return this;
  }

  async stop(): Promise<number> {
    this.running = false;
    await this.done;
    return this.maxLagMs;
  }

  private async loop(): Promise<void> {
    const ids = [...new Set(this.followers.map((f) => f.sessionId))];
    while (this.running) {
      const now = performance.now();
      const versions = await this.stack.versions(ids);
      for (const [id, version] of versions) {
        const seen = this.firstSeen.get(id) ?? [];
        if (seen.length === 0 || seen[seen.length - 1][0] < version) seen.push([version, now]);
        this.firstSeen.set(id, seen);
      }
      for (const follower of this.followers) {
        const missing = (this.firstSeen.get(follower.sessionId) ?? []).find(([version]) => version > follower.version);
        if (missing) this.maxLagMs = Math.max(this.maxLagMs, Math.round(now - missing[1]));
      }
      await sleep(50);
    }
  }
}
