// The restart storm over the pool: one change committed to every session, SIGTERM, wait
// for exit, start again, and time from process start until every client holds the
// database's version on a new connection. `since: true` makes the pool's clients reconnect
// with `since=` their last applied version (v1.1 resume); otherwise they reconnect as v1.
import { procStat } from './proc.mjs';
import { mdelta, mdeltaAll, canonical } from './metrics.mjs';
import { genCpuSince } from './generators.mjs';
import { summarize, round, fmt } from './stats.mjs';
import { pool as inPool } from './http.mjs';
import { now, sleep } from './context.mjs';
import { ensurePool } from './pool.mjs';

export async function runStorm(ctx, { since }) {
  const { T, opts, gens, results } = ctx;
  const { sessions } = await ensurePool(ctx);
  await gens.all('setResume', { on: !!since });
  // A replica (same DATABASE_URL and NATS_URL) lets changes be committed while the measured
  // instance is down, so the clients must recover state they never saw. Without one, the
  // changes are committed just before the stop.
  let replica = null;
  if (T.name === 'service' && ctx.backend === 'postgres' && ctx.bus === 'nats') {
    try {
      replica = await ctx.launch(T, { port: T.port + 10, logName: since ? 'service-replica-since' : 'service-replica' });
    } catch (e) {
      ctx.note(`restart storm: replica did not start (${e.message}); changes committed before the stop instead`);
    }
  }
  const writeAll = (srv) => inPool(sessions, 16, async (s) => (await ctx.timedWrite(T, s, srv)).status);
  const versionsFrom = async (srv) => {
    const vs = await inPool(sessions, 16, (s) => ctx.sessionVersion(T, s.id, srv));
    return Object.fromEntries(sessions.map((s, i) => [s.id, vs[i]]));
  };

  let expected;
  if (!replica) {
    await writeAll(T.srv);
    await sleep(500);
    expected = await versionsFrom(T.srv);
  }
  const m0 = await ctx.metrics(T);
  const tStop = now();
  const exit = await ctx.stop(T.srv, 30000);
  const stopMs = now() - tStop;
  // Only connections opened after the old process is gone count as resynced.
  await gens.all('mark', { at: now() });
  if (replica) {
    await writeAll(replica);
    expected = await versionsFrom(replica);
  }
  for (const s of sessions) if (typeof expected[s.id] === 'number') s.version = expected[s.id];
  await gens.all('expect', { versions: expected });
  // Every target is down for the same time (--storm-down-ms from the old process's exit),
  // because the clients' backoff depends on it: the replica's writes above take about as
  // long, and a target started sooner would face clients that had backed off less.
  const tExited = tStop + stopMs;
  const downMs = opts['storm-down-ms'];
  if (now() - tExited > downMs) ctx.note(`restart storm ${T.label}: down ${round(now() - tExited, 0)} ms, longer than --storm-down-ms ${downMs}`);
  await sleep(Math.max(0, downMs - (now() - tExited)));
  let tStart = 0;
  T.srv = await ctx.launch(T, { onStart: (srv) => (tStart = srv.startedAt) });
  const tReady = T.srv.readyAt;
  const mReady = await ctx.metrics(T);
  const sReady = procStat(T.srv.pid);
  const c0 = await gens.cpuMark();
  const stopSampling = ctx.sampleMetrics(T);
  const timeoutMs = opts['storm-timeout'] * 1000;
  const rs = await gens.all('waitSettled', { timeoutMs }, timeoutMs + 30000);
  const tDone = now();
  const peaks = await stopSampling();
  const c1 = await gens.cpuMark();
  const mDone = await ctx.metrics(T);
  const sDone = procStat(T.srv.pid);
  const sum = (k) => rs.reduce((a, r) => a + r[k], 0);
  const syncTimes = rs.flatMap((r) => r.syncTimes).map((t) => t - tReady);
  const reaccept = rs.flatMap((r) => r.reacceptTimes).map((t) => t - tStart);
  const bytes = rs.flatMap((r) => r.bytesAfterMark);
  const synced = sum('synced');
  const total = sum('total');
  const reaccepted = sum('reaccepted');
  // Check the expected versions against the database after the storm.
  const after = await versionsFrom(T.srv);
  const mismatched = Object.keys(expected).filter((k) => after[k] !== expected[k]).length;
  const st = {
    clients: total,
    sessions: sessions.length,
    interactions_per_session: T.poolGrown ? Math.max(opts['since-interactions'], opts['pool-interactions']) : opts['pool-interactions'],
    clients_resume_with_since: !!since,
    changes_committed_while_down: !!replica,
    shutdown_ms: round(stopMs, 0),
    down_ms: round(tStart - tExited, 0),
    exit_code: exit.code,
    exit_signal: exit.signal,
    restart_to_ready_ms: round(tReady - tStart, 0),
    all_synced_after_start_ms: synced === total && syncTimes.length ? round(Math.max(...syncTimes) + (tReady - tStart), 0) : null,
    all_synced_after_ready_ms: synced === total && syncTimes.length ? round(Math.max(...syncTimes), 0) : null,
    per_client_after_ready: summarize(syncTimes),
    // Every client holding a first frame on a new connection, whatever it said: for the
    // peers (state lost) this is the bare re-accept the service's start-to-current is held to.
    all_reaccepted_after_start_ms: reaccepted === total && reaccept.length ? round(Math.max(...reaccept), 0) : null,
    per_client_reaccepted_after_start: summarize(reaccept),
    bytes_received_after_stop: bytes.reduce((a, b) => a + b, 0),
    bytes_per_client: summarize(bytes),
    frames_received_after_stop: sum('framesAfterMark'),
    first_frames_with_since: sum('sinceFrames'),
    right_state: sum('rightState'),
    synced,
    told_session_gone: sum('gone'),
    failed: sum('failed'),
    stuck: sum('stuck'),
    connect_attempts: sum('connects'),
    // How connection attempts after the old process exited ended (close code or handshake error).
    attempt_endings: rs.reduce((all, r) => {
      for (const [k, n] of Object.entries(r.closeCodes ?? {})) all[k] = (all[k] ?? 0) + n;
      return all;
    }, {}),
    // When, after the old process exited (ms), the refused connects were refused.
    refused_after_exit: summarize(rs.flatMap((r) => r.refusedAt ?? [])),
    // Counters restart with the process: their value at the end covers the whole storm,
    // including clients served before /readyz answered 200 (start-up statements included).
    sql_statements_since_start: mDone?.sql_statements ?? null,
    snapshot_queries_since_start: mDone?.snapshot_queries ?? null,
    clients_connected_at_ready: mReady?.ws_connections ?? null,
    sql_statements_during_storm: mdelta(mReady, mDone, 'sql_statements'),
    snapshot_queries_during_storm: mdelta(mReady, mDone, 'snapshot_queries'),
    bus_subscriptions_during_storm: mdelta(mReady, mDone, 'bus_subscriptions'),
    bus_subscriptions_at_ready: mReady?.bus_subscriptions ?? null,
    bus_subscriptions_peak: peaks.bus_subscriptions ?? null,
    bus_subscriptions_at_end: mDone?.bus_subscriptions ?? null,
    metrics_at_ready: canonical(mReady),
    metrics_delta: canonical(mdeltaAll(mReady, mDone)),
    sql_statements_before_stop: m0?.sql_statements ?? null,
    database_versions_mismatched_after: T.name === 'service' ? mismatched : null,
    server_cpu_percent: round(((sDone.cpuMs - sReady.cpuMs) / (tDone - tReady)) * 100, 0),
    generator_cpu: genCpuSince(c0, c1),
    down_policy: `every target started ${downMs} ms after the old process exited`,
    reconnect_policy: 'close 1012: uniform 0-1000 ms; otherwise full jitter, 200 ms x 2^n capped at 3000 ms',
    timeout_s: opts['storm-timeout'],
  };
  if (since && T.name === 'service' && st.first_frames_with_since === 0) {
    st.feature_missing = 'since: every reconnect got a full snapshot (no first frame carried `since`)';
    ctx.note(`storm-since: the service does not answer \`since\` yet: ${st.feature_missing}`);
  }
  ctx.log(
    `  restart storm${since ? ' (since clients)' : ''} ${T.label}: ${total} clients on ${sessions.length} sessions; ready ${st.restart_to_ready_ms} ms after start; ` +
      `all current ${fmt(st.all_synced_after_start_ms, ' ms')} after start (${fmt(st.all_synced_after_ready_ms, ' ms')} after ready; per client median ${fmt(st.per_client_after_ready.median, ' ms')}, p99 ${fmt(st.per_client_after_ready.p99, ' ms')}); ` +
      `all re-accepted ${fmt(st.all_reaccepted_after_start_ms, ' ms')} after start; bytes received ${st.bytes_received_after_stop} (${fmt(st.bytes_per_client.median, ' B')}/client median), delta first frames ${st.first_frames_with_since}; ` +
      `attempts ${st.connect_attempts} (${Object.entries(st.attempt_endings).map(([k, n]) => `${k}: ${n}`).join(', ') || 'none failed'}; refused ${fmt(st.refused_after_exit.median, ' ms')} median, ${fmt(st.refused_after_exit.max, ' ms')} last after exit, start ${fmt(st.down_ms, ' ms')} after exit); right state ${st.right_state}/${total}, gone ${st.told_session_gone}, failed ${st.failed}, stuck ${st.stuck}; ` +
      `SQL since start ${fmt(st.sql_statements_since_start)} (after ready ${fmt(st.sql_statements_during_storm)}), snapshot queries since start ${fmt(st.snapshot_queries_since_start)}, ` +
      `clients connected at ready ${fmt(st.clients_connected_at_ready)}, bus subscriptions ready/peak/end ${fmt(st.bus_subscriptions_at_ready)}/${fmt(st.bus_subscriptions_peak)}/${fmt(st.bus_subscriptions_at_end)}; generator CPU ${st.generator_cpu.percent_of_one_core}%`,
  );
  if (replica) await ctx.stop(replica, 15000);
  await gens.all('setResume', { on: false });
  if (!results.meta.storm_note) results.meta.storm_note = 'start = spawning the new process';
  return st;
}
