// Connect-to-state at 1 and N simultaneous connects, per session size, beside the floor
// (scenario `floor`, measured on the ws target). What each connect costs in SQL comes from
// the service's /metrics.
import { connectPhase, warmUp } from '../lib/connect.mjs';

export default {
  name: 'connect',
  title: 'connect-to-state, 1 and 100 simultaneous connects, beside the floor',
  targets: ['service', 'socketio', 'ws'],
  with: ['floor'],
  async run(ctx) {
    const { T, R, opts } = ctx;
    R.connect = [];
    for (const size of opts['connect-sizes']) {
      const sessions = await ctx.createSessions(T, opts['connect-sessions'], size, `connect ${size}`);
      const specFor = (i) => ctx.wsSpec(T, sessions[i % sessions.length].id);
      await warmUp(ctx, specFor);
      R.connect.push(...(await connectPhase(ctx, T, specFor, T.label, size)));
    }
  },
};
