// The pool: `--pool-sessions` sessions × `--pool-subscribers` held connections that
// reconnect like a real client, shared by the memory, spread, storm and storm-since
// scenarios (built once per target by whichever of them runs first).
import { procStat } from './proc.mjs';
import { round, fmt } from './stats.mjs';
import { now, sleep } from './context.mjs';

/**
 * Memory of an idle server over `ms`: the last RSS, and the lowest heap_used seen, which is
 * the closest an outside reader gets to the heap after a collection (V8 collects only when
 * it allocates, so any single reading may still hold the connect phase's garbage).
 */
async function idleReading(ctx, T, ms) {
  const end = now() + ms;
  let heap = null;
  let last = null;
  do {
    await sleep(250);
    const m = await ctx.metrics(T);
    if (m) last = m;
    if (typeof m?.heap_used === 'number') heap = heap === null ? m.heap_used : Math.min(heap, m.heap_used);
  } while (now() < end);
  return { rss: procStat(T.srv.pid), heap, last };
}

export async function ensurePool(ctx) {
  const { T, opts } = ctx;
  if (T.pool) return T.pool;
  const S = opts['pool-sessions'];
  const per = opts['pool-subscribers'];
  // A fresh process, so the memory baseline is not the high-water mark earlier scenarios left.
  await ctx.stop(T.srv, 30000);
  T.srv = await ctx.launch(T);
  const sessions = await ctx.createSessions(T, S, opts['pool-interactions'], 'pool');
  const { rss: r0, heap: h0 } = await idleReading(ctx, T, 1500);
  const specs = [];
  for (let j = 0; j < per; j++) for (const s of sessions) specs.push(ctx.wsSpec(T, s.id));
  const pc = await ctx.connectPool(T, specs, true);
  ctx.log(`  pool ${T.label}: ${pc.connected}/${specs.length} connected in ${pc.seconds}s (${S} sessions x ${per}), failed ${pc.failed}`);
  // Read once the connect burst has settled.
  const { rss: r1, heap: h1, last: m1 } = await idleReading(ctx, T, 3000);
  const heap = h0 !== null && h1 !== null ? h1 - h0 : null;
  const memory = {
    connections: pc.connected,
    rss_before_kib: r0.rssKiB,
    rss_after_kib: r1.rssKiB,
    rss_per_connection_kib: pc.connected ? round((r1.rssKiB - r0.rssKiB) / pc.connected, 2) : null,
    heap_per_connection_kib: heap !== null && pc.connected ? round(heap / 1024 / pc.connected, 2) : null,
    ws_connections_reported: m1?.ws_connections ?? null,
    bus_subscriptions_reported: m1?.bus_subscriptions ?? null,
  };
  T.pool = { sessions, pc, per, memory };
  T.poolGrown = false;
  return T.pool;
}

export async function closePool(ctx) {
  if (!ctx.T.pool) return;
  ctx.T.pool = null;
  await ctx.gens.all('closeAll', {}, 120000);
}

export function logMemory(ctx, mem) {
  ctx.log(
    `  memory ${ctx.T.label} at ${mem.connections} idle connections: RSS ${fmt(mem.rss_per_connection_kib, ' KiB')}/connection, ` +
      `heap ${fmt(mem.heap_per_connection_kib, ' KiB')}/connection (RSS ${mem.rss_before_kib} -> ${mem.rss_after_kib} KiB)`,
  );
}
