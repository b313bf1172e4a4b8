// Restart storm with v1 clients: process start → /readyz 200, → every client current; for
// the peers (which lose their state) → every client re-accepted, the bare server's time.
import { runStorm } from '../lib/storm.mjs';

export default {
  name: 'storm',
  title: 'restart storm, v1 clients: start to ready, start to every client current (peers: re-accepted)',
  targets: ['service', 'socketio', 'ws'],
  async run(ctx) {
    ctx.R.storm = await runStorm(ctx, { since: false });
  },
};
