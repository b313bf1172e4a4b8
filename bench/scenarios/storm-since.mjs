// Restart storm with clients that reconnect with `since` (v1.1 resume): bytes received and
// time to converge, beside a v1 storm on the same sessions in the same run. `since` saves
// what the sessions hold beyond the changed interaction, so the pool's sessions are first
// grown to `--since-interactions` interactions (the `storm` scenario keeps the pool's
// original size, comparable with earlier runs); then one v1 storm and one `since` storm.
import { ensurePool } from '../lib/pool.mjs';
import { runStorm } from '../lib/storm.mjs';
import { pool as inPool, expectOk } from '../lib/http.mjs';
import { sleep } from '../lib/context.mjs';

export default {
  name: 'storm-since',
  title: 'restart storm, clients reconnecting with since vs v1 clients, on sessions of several interactions',
  targets: ['service'],
  async run(ctx) {
    const { T, opts } = ctx;
    const { sessions } = await ensurePool(ctx);
    const want = opts['since-interactions'];
    const have = opts['pool-interactions'];
    if (!T.poolGrown && want > have) {
      // The held clients follow these changes as they happen, so they hold the grown state.
      await inPool(sessions, 16, async (s) => {
        for (let k = have; k < want; k++) {
          await expectOk(ctx.api(T, 'POST', `/sessions/${s.id}/interactions`, { prompt_message: ctx.PROMPT }), 'grow session');
          s.version += 1;
        }
      });
      T.poolGrown = true;
      await sleep(1000);
    }
    const v1 = await runStorm(ctx, { since: false });
    const since = await runStorm(ctx, { since: true });
    ctx.R.storm_since = { interactions_per_session: Math.max(want, have), v1, since };
  },
};
