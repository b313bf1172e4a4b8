// Memory per idle connection: server RSS (/proc/PID/status) and heap (/metrics heap_used)
// before and after the pool's connections, on a freshly started process.
import { ensurePool, logMemory } from '../lib/pool.mjs';

export default {
  name: 'memory',
  title: 'RSS and heap per idle connection (the pool)',
  targets: ['service', 'socketio', 'ws'],
  async run(ctx) {
    const pool = await ensurePool(ctx);
    ctx.R.memory = pool.memory;
    logMemory(ctx, pool.memory);
  },
};
