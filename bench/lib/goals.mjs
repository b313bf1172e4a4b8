// The figures issues 10 and 12 set goals for, each beside its goal and the figure the issue
// measured before the work ("today"), read from one run's results. A row whose size differs
// from the goal's (a quick run) says at which size it was measured.
import { round } from './stats.mjs';

const ratio = (a, b) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? round(a / b, 2) : null);
const met = (ok) => (ok === 'missing' ? 'no: the service lacks the feature' : ok === null || ok === undefined ? 'n/a' : ok ? 'yes' : 'no');
const num = (x, unit = '') => (x === null || x === undefined ? 'n/a' : `${x}${unit}`);

export function goalRows(r) {
  const S = r.targets.service ?? {};
  const W = r.targets.ws ?? {};
  const rows = [];
  const add = (issue, figure, goal, today, value, ok) => rows.push({ issue, figure, goal, today, value, met: met(ok) });

  const st = S.streaming;
  if (st) {
    const size = `${st.appends} × ${st.chunk_bytes} B`;
    add('10.7', `agent streaming (${size}): v1 subscriber bytes ÷ text`, 'unchanged for v1', '529×', `${num(st.v1.ratio_to_text, '×')} (${num(st.v1.bytes_per_subscriber, ' B')})`, null);
    const d = st.delta_append;
    add(
      '10.7',
      `agent streaming (${size}): \`delta=append\` subscriber bytes ÷ text`,
      `≤ text + 300 B per append (≤ ${num(ratio(st.goal_bytes_per_subscriber, st.text_bytes), '×')})`,
      '529×',
      `${num(d.ratio_to_text, '×')} (${num(d.overhead_per_append_bytes, ' B')}/append over the text)${st.features?.delta_append ? '' : ' — server lacks delta=append'}`,
      !st.features?.delta_append ? 'missing' : d.bytes_per_subscriber === null ? null : d.bytes_per_subscriber <= st.goal_bytes_per_subscriber,
    );
  }
  const ap = S.append_throughput;
  if (ap) {
    const run = ap.runs.short;
    add('10.7', `appends/s at saturation, ${ap.sessions} sessions, ${ap.inflight} in flight`, '≥ 5,000/s', '≈ 1,200/s', num(run?.appends_per_second, '/s'), run ? run.appends_per_second >= 5000 : null);
    add(
      '10.7',
      'appends/s ÷ the floor (pgbench, same statement, same core)',
      '≥ 0.5×',
      '≈ 0.1× (floor ≈ 11,500/s at 16 clients)',
      ap.ratio_to_floor === null ? `n/a (${ap.floor?.skipped ?? ap.floor?.error ?? 'no floor'})` : `${ap.ratio_to_floor}× (floor ${ap.floor.tps}/s)`,
      ap.ratio_to_floor === null ? null : ap.ratio_to_floor >= 0.5,
    );
    add('10.7', 'append latency p50 / p99 at saturation, ms', '—', '—', run ? `${num(run.latency.median)} / ${num(run.latency.p99)}` : 'n/a', null);
    add('10.7', 'server CPU per append (server on one core)', '—', '≈ 0.6 ms', num(run?.server_cpu_ms_per_append, ' ms'), null);
    const lg = ap.runs.long;
    add(
      '10.7',
      `appends into a ${Math.round(ap.long_response_bytes / 1000)} KB response: appends/s, CPU per append ÷ short`,
      'not much more than a short one',
      '—',
      lg ? `${num(lg.appends_per_second, '/s')} (${num(ap.long_ratio_to_floor, '×')} its floor), CPU ${num(ap.long_cost_ratio, '×')}` : 'n/a',
      null,
    );
  }
  const rs = S.resume;
  if (rs) {
    add(
      '10.7',
      `reconnect to ${rs.interactions} interactions, 1 changed: first frame with \`since\``,
      '≤ 2 KB',
      '169 KB',
      `${num(rs.with_since.first_frame_bytes, ' B')} in ${num(rs.with_since.median, ' ms')} (without: ${num(rs.without_since.first_frame_bytes, ' B')} in ${num(rs.without_since.median, ' ms')})${rs.since_honoured ? '' : ' — server lacks since'}`,
      !rs.since_honoured ? 'missing' : rs.with_since.first_frame_bytes === null ? null : rs.with_since.first_frame_bytes <= 2048,
    );
  }
  const v1 = S.storm;
  const ss = S.storm_since?.since;
  const sv = S.storm_since?.v1;
  if (ss) {
    add(
      '10.7',
      `restart storm with \`since\` clients (${ss.clients} clients, ${S.storm_since.interactions_per_session} interactions per session): bytes received, start → all current`,
      'below the v1 storm',
      sv ? `v1 clients, same sessions, same run: ${sv.bytes_received_after_stop} B, ${num(sv.all_synced_after_start_ms, ' ms')}` : 'n/a',
      `${ss.bytes_received_after_stop} B, ${num(ss.all_synced_after_start_ms, ' ms')}${ss.feature_missing ? ' — server lacks since' : ''}`,
      ss.feature_missing ? 'missing' : sv ? ss.bytes_received_after_stop < sv.bytes_received_after_stop : null,
    );
  }
  if (v1) {
    const bare = W.storm?.all_reaccepted_after_start_ms ?? null;
    const x = ratio(v1.all_synced_after_start_ms, bare);
    add('12.4', `restart storm (${v1.clients} clients): process start → every client current ÷ bare ws re-accepting them`, '≤ 1.3×', '5.3 s (bare ≈ 0.15 s start)', `${num(x, '×')} (${num(v1.all_synced_after_start_ms, ' ms')} vs ${num(bare, ' ms')})`, x === null ? null : x <= 1.3);
    add('12.1', 'restart storm: process start → /readyz 200, clients knocking', 'well under 1 s', '2.5 s', num(v1.restart_to_ready_ms, ' ms'), v1.restart_to_ready_ms < 1000);
  }
  const ck = S.connect_kinds;
  if (ck) {
    for (const [kind, goal, today] of [
      ['followed', 1.2, '1.2×'],
      ['lingering', 1.5, '3.3×'],
      ['cold', 2.5, '3.3× (2.3 vs 0.68 ms)'],
    ]) {
      const row = ck.rows[kind];
      add(
        '12.4',
        `connect-to-state p50, ${kind} session (${ck.interactions} interactions) ÷ bare ws, same frame size`,
        `≤ ${goal}×`,
        today,
        row ? `${num(row.ratio_to_floor, '×')} (${num(row.median, ' ms')} vs ${num(row.floor_median, ' ms')}${row.pause_ms ? `, both ${row.pause_ms} ms apart` : ''}; SQL/connect ${num(row.sql_statements_per_connect)})` : 'n/a',
        row?.ratio_to_floor === null || !row ? null : row.ratio_to_floor <= goal,
      );
    }
  }
  const mem = S.memory;
  if (mem) {
    add('12.3', `heap per idle connection (${mem.connections} connections)`, '≤ 4 KiB', '5.95 KiB (ws 4.64)', `${num(mem.heap_per_connection_kib, ' KiB')} (ws ${num(W.memory?.heap_per_connection_kib, ' KiB')})`, mem.heap_per_connection_kib === null ? null : mem.heap_per_connection_kib <= 4);
    const bareRss = W.memory?.rss_per_connection_kib ?? null;
    add('12.3', 'RSS per idle connection ÷ bare ws', '≤ bare', '6.89 vs 6.48 KiB', `${num(mem.rss_per_connection_kib, ' KiB')} vs ${num(bareRss, ' KiB')}`, bareRss === null || mem.rss_per_connection_kib === null ? null : mem.rss_per_connection_kib <= bareRss);
  }
  const fo = S.fanout;
  if (fo?.length && W.fanout?.length) {
    const n = Math.max(...fo.map((x) => x.subscribers).filter((k) => W.fanout.some((w) => w.subscribers === k)));
    const a = fo.find((x) => x.subscribers === n);
    const b = W.fanout.find((x) => x.subscribers === n);
    const x = ratio(a?.p99, b?.p99);
    add('12.3', `fan-out p99, one write to ${n} subscribers of a session ÷ bare ws`, '≤ 1.15× (at 10,000)', '1.37×', `${num(x, '×')} (${num(a?.p99, ' ms')} vs ${num(b?.p99, ' ms')})`, x === null ? null : x <= 1.15);
    // The same deliveries, each measured from its write's first delivery: what fan-out itself
    // costs, without a database stall or a bus hop on the service's write path (one slow
    // write of 60 holds 1.7% of the deliveries, enough to set the p99 above).
    const y = ratio(a?.after_first_delivery?.p99, b?.after_first_delivery?.p99);
    add('12.3', `fan-out p99 after the write's first delivery (the write's own path left out), ${n} subscribers ÷ bare ws`, '—', '—', `${num(y, '×')} (${num(a?.after_first_delivery?.p99, ' ms')} vs ${num(b?.after_first_delivery?.p99, ' ms')})`, null);
  }
  const fp = S.fanout_paired;
  if (fp) {
    add(
      '12.3',
      `fan-out p99, ${fp.subscribers} subscribers each, writes alternated between the service and a bare ws server ÷ bare ws`,
      '≤ 1.15× (at 10,000)',
      '1.37×',
      `${num(fp.p99_ratio, '×')} (${num(fp.service.p99, ' ms')} vs ${num(fp.bare_ws.p99, ' ms')}; medians ${num(fp.median_ratio, '×')}; after each write's first delivery ${num(fp.after_first_p99_ratio, '×')})`,
      fp.p99_ratio === null ? null : fp.p99_ratio <= 1.15,
    );
  }
  return rows;
}
