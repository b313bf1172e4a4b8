// Restart storm with clients that reconnect with `since` (v1.1 resume): bytes sent and time
// to converge, beside the v1 storm of the same run (scenario `storm`, on the same pool).
import { runStorm } from '../lib/storm.mjs';

export default {
  name: 'storm-since',
  title: 'restart storm, clients reconnecting with since: bytes and time to converge',
  targets: ['service'],
  async run(ctx) {
    ctx.R.storm_since = await runStorm(ctx, { since: true });
  },
};
