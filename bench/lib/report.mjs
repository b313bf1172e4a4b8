// results.md (tables) and results.svg (a hand-drawn bar chart) from results.json.
import fs from 'node:fs';
import path from 'node:path';
import { goalRows } from './goals.mjs';

const COLS = [
  ['service', 'service'],
  ['socketio', 'socket.io'],
  ['ws', 'ws'],
];
const COLORS = { service: '#2b6cb0', socketio: '#dd6b20', ws: '#38a169', floor: '#718096' };

const v = (x, unit = '') => (x === null || x === undefined ? 'n/a' : `${x}${unit}`);
const mp = (r) => (r && r.n ? `${v(r.median)} / ${v(r.p99)}` : 'n/a');
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(1)}×` : 'n/a');

export function writeReports(results, outDir) {
  fs.writeFileSync(path.join(outDir, 'results.md'), markdown(results));
  fs.writeFileSync(path.join(outDir, 'results.svg'), svg(results));
}

function markdown(r) {
  const m = r.meta;
  const o = m.options;
  const T = r.targets;
  const lines = [];
  const measured = COLS.filter(([k]) => T[k]).map(([, l]) => l);
  lines.push('# Benchmark results', '');
  lines.push(
    `${m.mode} run, ${m.started}, ${m.seconds ?? '?'} s. ${m.cores} cores (${m.cpu_model}), ${m.memory_gib} GiB, Node ${m.node}. ` +
      `Service on ${m.database} and ${m.bus}. ${m.pinned ? `Server pinned to core ${m.pinned.server_cores}, ${m.generators} load-generator processes to core(s) ${m.pinned.generator_cores}` : `${m.generators} load-generator processes, not pinned`}. ` +
      `Measured: ${measured.join(', ') || 'nothing'}. All times in ms, "median / p99"; everything on 127.0.0.1.`,
    '',
  );
  if (!T.service) lines.push('**The service was not measured in this run: only the peers.**', '');
  lines.push(`Scenarios: ${(m.scenarios ?? []).join(', ')}.${m.metrics_format ? ` The service's /metrics was read as ${m.metrics_format === 'json' ? 'JSON' : 'Prometheus text'}.` : ''}`, '');

  const goals = goalRows(r);
  if (goals.length) {
    lines.push('## Goals (issues 10 and 12)', '');
    lines.push('Each figure of this run beside its goal and the figure the issue measured before the work ("today"). A quick run measures at smaller sizes than the goals name: the row says which.', '');
    lines.push('| issue | figure | goal | today | this run | met |');
    lines.push('|---|---|---|---|---|---|');
    for (const g of goals) lines.push(`| ${g.issue} | ${g.figure} | ${g.goal} | ${g.today} | ${g.value} | ${g.met} |`);
    lines.push('');
  }

  // 1
  if (COLS.some(([k]) => T[k]?.connect?.length)) {
  lines.push('## 1. Connect-to-state', '');
  lines.push(
    `From starting a WebSocket connect to holding the first \`session_update\`. Sessions of ${o['connect-sizes'].join(' and ')} interactions ` +
      `(prompt ${o['prompt-bytes']} B, response ${o['response-bytes']} B each), spread over ${o['connect-sessions']} sessions per size; ` +
      `concurrency 1 = ${o['connect-samples']} sequential connects, otherwise ${o['connect-rounds']} rounds of that many simultaneous connects. ` +
      'The floor is a bare ws server sending one frame of the same size on connect; "× floor" compares medians (p99s in brackets).',
    '',
  );
  lines.push('| interactions | concurrent | frame bytes | service | × floor | SQL / connect | socket.io | × floor | ws | × floor | floor | generator CPU (svc / sio / ws) |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  const keys = [];
  for (const [k] of COLS) for (const row of T[k]?.connect ?? []) if (!keys.some((x) => x[0] === row.interactions && x[1] === row.concurrency)) keys.push([row.interactions, row.concurrency]);
  for (const [size, conc] of keys) {
    const get = (k) => T[k]?.connect?.find((x) => x.interactions === size && x.concurrency === conc);
    const floor = r.floor.find((x) => x.interactions === size && x.concurrency === conc);
    const fr = (x) => (x && floor ? `${ratio(x.median, floor.median)} (${ratio(x.p99, floor.p99)})` : 'n/a');
    const s = get('service');
    lines.push(
      `| ${size} | ${conc} | ${get('service')?.frame_bytes ?? get('ws')?.frame_bytes ?? 'n/a'} | ${mp(s)} | ${fr(s)} | ${v(s?.sql_statements_per_connect)} | ` +
        `${mp(get('socketio'))} | ${fr(get('socketio'))} | ${mp(get('ws'))} | ${fr(get('ws'))} | ${mp(floor)} | ` +
        `${COLS.map(([k]) => v(get(k)?.generator_cpu?.percent_of_one_core, '%')).join(' / ')} |`,
    );
  }
  lines.push('');
  }

  connectKinds(lines, T.service?.connect_kinds);
  resume(lines, T.service?.resume ?? T.ws?.resume, T.service?.resume ? T.ws?.resume : null);
  streaming(lines, T.service?.streaming ?? T.ws?.streaming, T.service?.streaming ? T.ws?.streaming : null);
  appendThroughput(lines, T.service?.append_throughput);

  // 2
  if (COLS.some(([k]) => T[k]?.fanout?.length || T[k]?.spread)) {
  lines.push('## 2. Fan-out', '');
  lines.push(
    `One write (REST append of ${o['append-bytes']} B to an interaction) to its delivery at every subscriber, all deliveries pooled; ` +
      `${o['fanout-writes']} writes per size, each after the previous one reached every subscriber. "last" is the median time to the last subscriber.`,
    '',
  );
  lines.push('| subscribers | service | last | socket.io | last | ws | last | generator CPU (svc / sio / ws) |');
  lines.push('|---|---|---|---|---|---|---|---|');
  const ns = [...new Set(COLS.flatMap(([k]) => (T[k]?.fanout ?? []).map((x) => x.subscribers)))];
  for (const n of ns) {
    const get = (k) => T[k]?.fanout?.find((x) => x.subscribers === n);
    lines.push(
      `| ${n} on 1 session | ${COLS.map(([k]) => `${mp(get(k))} | ${v(get(k)?.last_delivery?.median)}`).join(' | ')} | ` +
        `${COLS.map(([k]) => v(get(k)?.generator_cpu?.percent_of_one_core, '%')).join(' / ')} |`,
    );
  }
  const sp = (k) => T[k]?.spread;
  if (COLS.some(([k]) => sp(k))) {
    const any = COLS.map(([k]) => sp(k)).find(Boolean);
    lines.push(
      `| ${any.sessions} sessions × ${any.subscribers_per_session} (${any.writes} writes, ${any.writes_in_flight} in flight) | ` +
        `${COLS.map(([k]) => `${mp(sp(k))} | n/a`).join(' | ')} | ${COLS.map(([k]) => v(sp(k)?.generator_cpu?.percent_of_one_core, '%')).join(' / ')} |`,
    );
  }
  lines.push('');
  lines.push(
    'The same deliveries, each from its write\'s first delivery (the fan-out proper: the write\'s own path, REST, database and bus, left out), median / p99:',
    '',
  );
  lines.push(`| subscribers | ${COLS.map(([, label]) => label).join(' | ')} |`);
  lines.push(`|---|${COLS.map(() => '---').join('|')}|`);
  for (const n of ns) {
    const get = (k) => T[k]?.fanout?.find((x) => x.subscribers === n)?.after_first_delivery;
    lines.push(`| ${n} on 1 session | ${COLS.map(([k]) => mp(get(k))).join(' | ')} |`);
  }
  lines.push('');
  lines.push('Messages delivered per second at saturation (writes kept in flight for the whole window):', '');
  lines.push('| setup | service | socket.io | ws | server CPU (svc / sio / ws) | generator CPU (svc / sio / ws) | writer CPU (svc / sio / ws) |');
  lines.push('|---|---|---|---|---|---|---|');
  const satBig = (k) => T[k]?.fanout?.find((x) => x.saturation)?.saturation;
  const bigN = COLS.map(([k]) => T[k]?.fanout?.find((x) => x.saturation)?.subscribers).find(Boolean);
  const satRow = (label, f) =>
    lines.push(
      `| ${label} | ${COLS.map(([k]) => (f(k) ? `${v(f(k).messages_per_second)} (${f(k).writes} writes, ${f(k).delivered}/${f(k).expected})` : 'n/a')).join(' | ')} | ` +
        `${COLS.map(([k]) => v(f(k)?.server_cpu_percent, '%')).join(' / ')} | ${COLS.map(([k]) => v(f(k)?.generator_cpu?.percent_of_one_core, '%')).join(' / ')} | ` +
        `${COLS.map(([k]) => v(f(k)?.writer_cpu_percent, '%')).join(' / ')} |`,
    );
  if (bigN) satRow(`1 session × ${bigN}, ${o['saturation-inflight']} writes in flight, ${o['saturation-seconds']} s`, satBig);
  const anySp = COLS.map(([k]) => sp(k)).find(Boolean);
  if (anySp) satRow(`${anySp.sessions} sessions × ${anySp.subscribers_per_session}, ${anySp.saturation?.writes_in_flight} writes in flight`, (k) => sp(k)?.saturation);
  lines.push('');
  }

  // 2b
  const fp = T.service?.fanout_paired;
  if (fp) {
    lines.push('## 2b. Fan-out, writes alternated with a bare server', '');
    lines.push(
      `The service and a bare ws server (started for this scenario) each hold ${fp.subscribers} subscribers of one session at the same time; ` +
        `${o['fanout-writes']} writes to each, alternately, each after the previous one reached every subscriber, so that both see the same moments of the machine. ` +
        `"after first" measures each delivery from its write's first delivery: the fan-out proper, without the write's own path (REST, database, bus).`,
      '',
    );
    lines.push('| | write → delivery | after first | delivered |');
    lines.push('|---|---|---|---|');
    lines.push(`| service | ${mp(fp.service)} | ${mp(fp.service.after_first_delivery)} | ${fp.service.delivered}/${fp.service.expected} |`);
    lines.push(`| bare ws | ${mp(fp.bare_ws)} | ${mp(fp.bare_ws.after_first_delivery)} | ${fp.bare_ws.delivered}/${fp.bare_ws.expected} |`);
    lines.push(`| service ÷ bare (median / p99) | ${v(fp.median_ratio, '×')} / ${v(fp.p99_ratio, '×')} | — / ${v(fp.after_first_p99_ratio, '×')} | |`);
    lines.push('');
  }

  // 3
  const st = (k) => T[k]?.storm;
  const ss = T.service?.storm_since;
  const STORM_COLS = [
    ...COLS.map(([k, l]) => [l, st(k)]),
    [`service, ${ss?.interactions_per_session} interactions, v1 clients`, ss?.v1],
    [`service, ${ss?.interactions_per_session} interactions, since clients`, ss?.since],
  ].filter(([, x]) => x);
  if (STORM_COLS.length) {
    const anySt = STORM_COLS[0][1];
    lines.push('## 3. Restart storm', '');
    lines.push(
      `${anySt.clients} connected clients on ${anySt.sessions} sessions of ${anySt.interactions_per_session ?? 1} interaction(s) (the storm-since columns: grown to ${ss?.interactions_per_session ?? 'n/a'}); one change committed to every session ` +
        `${anySt.changes_committed_while_down ? 'through a replica while the measured instance was down' : 'just before the stop'}; SIGTERM, wait for exit, start again. ` +
        `"start" is spawning the new process; "ready" is its first \`/readyz\` 200 (a negative time after ready: the client held the state before \`/readyz\` said so). ` +
        `"Current" is holding the database's version on a new connection; "re-accepted" is holding any first frame on one, which is all a peer can give after losing its state, and the bare server's time for the start-to-current goal. ` +
        `"since clients" reconnect with \`since\` = their last applied version (after the v1 storms, on the same pool). Reconnect policy: ${anySt.reconnect_policy}.`,
      '',
    );
    lines.push(`| | ${STORM_COLS.map(([l]) => l).join(' | ')} |`);
    lines.push(`|---|${STORM_COLS.map(() => '---|').join('')}`);
    const row = (label, f) => lines.push(`| ${label} | ${STORM_COLS.map(([, s]) => v(f(s))).join(' | ')} |`);
    row('clients', (s) => s.clients);
    row('shutdown (SIGTERM to exit), ms', (s) => `${s.shutdown_ms} (exit ${s.exit_code ?? s.exit_signal})`);
    row('start to ready, ms', (s) => s.restart_to_ready_ms);
    row('start to every client re-accepted, ms', (s) => s.all_reaccepted_after_start_ms);
    row('start to every client current, ms', (s) => s.all_synced_after_start_ms);
    row('ready to every client current, ms', (s) => s.all_synced_after_ready_ms);
    row('per client after ready, median / p99', (s) => mp(s.per_client_after_ready));
    row('bytes received by all clients after the stop', (s) => s.bytes_received_after_stop);
    row('bytes per client, median / max', (s) => (s.bytes_per_client?.n ? `${s.bytes_per_client.median} / ${s.bytes_per_client.max}` : 'n/a'));
    row('first frames that were delta snapshots (`since`)', (s) => s.first_frames_with_since);
    row('clients with the right state', (s) => `${s.right_state} / ${s.clients}`);
    row('told the session is gone', (s) => s.told_session_gone);
    row('failed', (s) => s.failed);
    row('stuck (not settled in time)', (s) => s.stuck);
    row('connect attempts after the stop', (s) => s.connect_attempts);
    row('clients already connected when /readyz answered 200', (s) => s.clients_connected_at_ready);
    row('SQL statements since the new process started / after ready', (s) => (s.sql_statements_since_start === null ? 'n/a' : `${s.sql_statements_since_start} / ${v(s.sql_statements_during_storm)}`));
    row('snapshot queries since the new process started / after ready', (s) => (s.snapshot_queries_since_start === null ? 'n/a' : `${s.snapshot_queries_since_start} / ${v(s.snapshot_queries_during_storm)}`));
    row('bus subscriptions at ready / peak / end', (s) => (s.bus_subscriptions_peak === null && s.bus_subscriptions_at_end === null ? 'n/a' : `${v(s.bus_subscriptions_at_ready)} / ${v(s.bus_subscriptions_peak)} / ${v(s.bus_subscriptions_at_end)}`));
    row('server CPU / generator CPU', (s) => `${v(s.server_cpu_percent, '%')} / ${v(s.generator_cpu?.percent_of_one_core, '%')}`);
    lines.push('');
  }

  // 4
  const me = (k) => T[k]?.memory;
  if (COLS.some(([k]) => me(k))) {
  lines.push('## 4. Memory per idle connection', '');
  lines.push('| | service | socket.io | ws |');
  lines.push('|---|---|---|---|');
  lines.push(`| idle connections | ${COLS.map(([k]) => v(me(k)?.connections)).join(' | ')} |`);
  lines.push(`| RSS per connection, KiB | ${COLS.map(([k]) => v(me(k)?.rss_per_connection_kib)).join(' | ')} |`);
  lines.push(`| heap per connection, KiB | ${COLS.map(([k]) => v(me(k)?.heap_per_connection_kib)).join(' | ')} |`);
  lines.push(`| RSS before → after, MiB | ${COLS.map(([k]) => (me(k) ? `${(me(k).rss_before_kib / 1024).toFixed(0)} → ${(me(k).rss_after_kib / 1024).toFixed(0)}` : 'n/a')).join(' | ')} |`);
  lines.push('');
  }

  const errs = COLS.flatMap(([k, l]) => (T[k]?.errors ?? []).map((e) => `- ${l}: ${e}`));
  if (errs.length || r.notes.length) {
    lines.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), ...errs, '');
  }
  lines.push('![chart](results.svg)', '');
  return lines.join('\n');
}

function connectKinds(lines, ck) {
  if (!ck) return;
  lines.push('## 1b. Connect-to-state by kind of session', '');
  lines.push(
    `Sequential connects to sessions of ${ck.interactions} interactions. Followed: another socket on the process follows the session. ` +
      `Lingering: nobody does, the last socket left ${ck.linger_gap_ms} ms before. Cold: nobody has followed it on this process. ` +
      `Cold, BUS_SUBSCRIPTION_SCOPE=session (with NATS): the same on a replica holding one subscription per session, which a cold connect waits for before its read. ` +
      `Each kind is measured beside a plain ws server sending one frame of the same size (${v(ck.floor_bytes)} B), started for this scenario: ` +
      `one connect to the service, one to the bare server, and so on, with the lingering kind's pause before every connect to either (an idle process answers its next connect slower). ` +
      `SQL / connect counts every statement over the phase, including the periodic version checks' (the lingering phase lasts longest); snapshot queries are the reads.`,
    '',
  );
  lines.push('| kind | service median / p99 | bare ws median / p99 | × bare (median) | × bare (p99) | SQL / connect | snapshot queries / connect | server CPU | bare CPU |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const [kind, row] of Object.entries(ck.rows)) {
    const fl = ck.floors?.[kind];
    lines.push(
      `| ${kind} | ${mp(row)} | ${fl ? mp(fl) : 'n/a'} | ${v(row.ratio_to_floor, '×')} | ${v(row.p99_ratio_to_floor, '×')} | ${v(row.sql_statements_per_connect)} | ${v(row.snapshot_queries_per_connect)} | ${v(row.server_cpu_percent, '%')} | ${v(fl?.server_cpu_percent, '%')} |`,
    );
  }
  lines.push('');
}

function resume(lines, rs, bare) {
  if (!rs) return;
  lines.push('## 1c. Resume: reconnect with and without `since`', '');
  lines.push(
    `A session of ${rs.interactions} interactions; a client held its state at version ${rs.since}, then one interaction changed. ` +
      `Reconnects alternate with \`since=${rs.since}\` and without. ${rs.since_honoured ? `The delta held ${rs.interactions_in_first_frame_with_since} interaction(s)` : '**The service ignored `since`: both got the full snapshot**'}; ` +
      `merged into the held state it ${rs.merged_equals_full_snapshot ? 'equals' : '**differs from**'} the full snapshot.`,
    '',
  );
  lines.push('| | first frame bytes | connect to first frame, median / p99 | SQL / connect |');
  lines.push('|---|---|---|---|');
  lines.push(`| with \`since\` | ${v(rs.with_since.first_frame_bytes)} | ${mp(rs.with_since)} | ${v(rs.with_since.sql_statements_per_connect)} |`);
  lines.push(`| without | ${v(rs.without_since.first_frame_bytes)} | ${mp(rs.without_since)} | ${v(rs.without_since.sql_statements_per_connect)} |`);
  if (bare) {
    lines.push(`| ws peer, with \`since\` | ${v(bare.with_since.first_frame_bytes)} | ${mp(bare.with_since)} | n/a |`);
    lines.push(`| ws peer, without | ${v(bare.without_since.first_frame_bytes)} | ${mp(bare.without_since)} | n/a |`);
  }
  lines.push('');
}

function streaming(lines, st, bare) {
  if (!st) return;
  lines.push('## 1d. Agent streaming', '');
  lines.push(
    `One reply of ${st.text_bytes} bytes in ${st.appends} appends of ${st.chunk_bytes} B (one PATCH at a time, \`Prefer: return=minimal\`${st.features?.offset ? ' and `offset`' : ''}), ` +
      `followed by ${st.v1.subscribers} v1 subscribers and ${st.delta_append.subscribers} \`delta=append\` subscribers at once. Bytes are everything a subscriber received after its first snapshot; ` +
      `the goal is the text plus 300 B per append (${st.goal_bytes_per_subscriber} B). "text matches" compares each subscriber's final text with the database's.`,
    '',
  );
  lines.push('| subscribers | bytes per subscriber | ÷ text | over the text per append | frames | frame types | text matches | gaps |');
  lines.push('|---|---|---|---|---|---|---|---|');
  const sides = [['v1', st.v1], ['delta=append', st.delta_append]];
  if (bare) sides.push(['ws peer, v1', bare.v1], ['ws peer, delta=append', bare.delta_append]);
  for (const [label, x] of sides) {
    lines.push(
      `| ${label} | ${v(x.bytes_per_subscriber)} | ${v(x.ratio_to_text, '×')} | ${v(x.overhead_per_append_bytes, ' B')} | ${v(x.frames_per_subscriber)} | ${Object.entries(x.frame_types).map(([t, n]) => `${t} ${n}`).join(', ')} | ${x.text_matches_database} | ${x.gaps} |`,
    );
  }
  lines.push('');
  lines.push(
    `REST answers: ${v(st.rest.response_bytes_per_append)} B per append; one stream, one request in flight: ${v(st.rest.appends_per_second_one_stream)} appends/s, ack ${mp(st.rest.ack)} ms. ` +
      `Features the service took: ${Object.entries(st.features).map(([k, x]) => `${k} ${x ? 'yes' : 'no'}`).join(', ')}.`,
    '',
  );
}

function appendThroughput(lines, ap) {
  if (!ap) return;
  lines.push('## 1e. Appends at saturation, beside the floor', '');
  lines.push(
    `${ap.inflight} appends of ${ap.append_bytes} B kept in flight for ${ap.seconds} s by the load generators, round-robin over ${ap.sessions} sessions (no subscribers), ` +
      `one append in flight per interaction${ap.offset_supported ? ', each with its `offset`' : ''}, server pinned to one core. ` +
      `The floor is pgbench running the service's own append statement (${ap.floor_statement ?? '?'}) on the same sessions, ${ap.floor?.clients ?? '?'} clients, pinned to the server's core; Postgres itself is not pinned. ` +
      `"long" appends into responses of ${ap.long_response_bytes} B (${ap.long_sessions} sessions), beside its own floor.`,
    '',
  );
  lines.push('| run | appends/s | latency median / p99, ms | server CPU | server CPU per append | generator CPU | answer bytes | statuses |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const [label, x] of Object.entries(ap.runs)) {
    lines.push(
      `| ${label}: ${x.sessions} sessions, ${x.inflight} in flight${x.prefer ? `, Prefer: ${x.prefer}` : ''}${x.offset ? ', offset' : ''} | ${v(x.appends_per_second)} | ${mp(x.latency)} | ${v(x.server_cpu_percent, '%')} | ${v(x.server_cpu_ms_per_append, ' ms')} | ${v(x.generator_cpu_percent, '%')} | ${v(x.response_bytes_per_append)} | ${JSON.stringify(x.statuses)} |`,
    );
  }
  for (const [label, f] of [['short', ap.floor], ['long', ap.floor_long]]) {
    if (!f) continue;
    lines.push(`| floor ${label}: pgbench${f.scripts ? `, ${f.scripts} sessions, ${f.clients} clients` : ''} | ${v(f.tps)} | ${mp(f.latency)} | n/a | n/a | n/a | n/a | ${f.skipped ?? f.error ?? 'ok'} |`);
  }
  lines.push('', `Appends ÷ floor: short ${v(ap.ratio_to_floor, '×')}, long ${v(ap.long_ratio_to_floor, '×')}; server CPU per append, long ÷ short: ${v(ap.long_cost_ratio, '×')}.`);
  lines.push('');
}

// ------------------------------------------------------------------ chart
function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

function panel(x, y, w, h, title, groups, series) {
  // groups: [{label, values: {series: number|null}}]
  const out = [];
  out.push(`<text x="${x}" y="${y + 14}" font-size="13" font-weight="bold">${esc(title)}</text>`);
  const top = y + 30;
  const bottom = y + h - 34;
  const left = x + 8;
  const right = x + w - 8;
  const max = Math.max(1e-9, ...groups.flatMap((g) => series.map((s) => g.values[s] ?? 0)));
  const gw = (right - left) / Math.max(1, groups.length);
  const bw = Math.min(28, (gw - 10) / series.length);
  out.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#999"/>`);
  groups.forEach((g, gi) => {
    const gx = left + gi * gw + (gw - bw * series.length) / 2;
    series.forEach((s, si) => {
      const val = g.values[s];
      const bx = gx + si * bw;
      if (val === null || val === undefined) {
        out.push(`<text x="${bx + bw / 2}" y="${bottom - 3}" font-size="8" text-anchor="middle" fill="#999">n/a</text>`);
        return;
      }
      const bh = Math.max(1, ((bottom - top - 12) * val) / max);
      out.push(`<rect x="${bx.toFixed(1)}" y="${(bottom - bh).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${COLORS[s]}"><title>${esc(s)}: ${val}</title></rect>`);
      const label = val >= 100 ? Math.round(val) : val >= 10 ? val.toFixed(1) : val.toFixed(2);
      out.push(`<text x="${(bx + bw / 2 - 1).toFixed(1)}" y="${(bottom - bh - 3).toFixed(1)}" font-size="8" text-anchor="middle">${label}</text>`);
    });
    out.push(`<text x="${(left + gi * gw + gw / 2).toFixed(1)}" y="${bottom + 14}" font-size="10" text-anchor="middle">${esc(g.label)}</text>`);
  });
  return out.join('\n');
}

function svg(r) {
  const T = r.targets;
  const W = 1000;
  const H = 720;
  const parts = [];
  const keys = [];
  for (const k of ['service', 'socketio', 'ws']) for (const row of T[k]?.connect ?? []) if (!keys.some((x) => x[0] === row.interactions && x[1] === row.concurrency)) keys.push([row.interactions, row.concurrency]);
  const connectGroups = keys.map(([size, conc]) => {
    const values = {};
    for (const k of ['service', 'socketio', 'ws']) values[k] = T[k]?.connect?.find((x) => x.interactions === size && x.concurrency === conc)?.median ?? null;
    values.floor = r.floor.find((x) => x.interactions === size && x.concurrency === conc)?.median ?? null;
    return { label: `${size} int. × ${conc}`, values };
  });
  parts.push(panel(20, 40, 470, 320, 'Connect-to-state, median ms', connectGroups, ['service', 'socketio', 'ws', 'floor']));

  const ns = [...new Set(['service', 'socketio', 'ws'].flatMap((k) => (T[k]?.fanout ?? []).map((x) => x.subscribers)))];
  const fanGroups = ns.map((n) => {
    const values = {};
    for (const k of ['service', 'socketio', 'ws']) values[k] = T[k]?.fanout?.find((x) => x.subscribers === n)?.p99 ?? null;
    return { label: `N=${n}`, values };
  });
  const sp = ['service', 'socketio', 'ws'].map((k) => T[k]?.spread).find(Boolean);
  if (sp) {
    const values = {};
    for (const k of ['service', 'socketio', 'ws']) values[k] = T[k]?.spread?.p99 ?? null;
    fanGroups.push({ label: `${sp.sessions}×${sp.subscribers_per_session}`, values });
  }
  parts.push(panel(510, 40, 470, 320, 'Fan-out write→delivery, p99 ms', fanGroups, ['service', 'socketio', 'ws']));

  const memGroups = [
    { label: 'RSS KiB / conn', values: Object.fromEntries(['service', 'socketio', 'ws'].map((k) => [k, T[k]?.memory?.rss_per_connection_kib ?? null])) },
    { label: 'heap KiB / conn', values: Object.fromEntries(['service', 'socketio', 'ws'].map((k) => [k, T[k]?.memory?.heap_per_connection_kib ?? null])) },
  ];
  parts.push(panel(20, 380, 470, 300, 'Memory per idle connection', memGroups, ['service', 'socketio', 'ws']));

  const satGroups = [
    { label: '1 session', values: Object.fromEntries(['service', 'socketio', 'ws'].map((k) => [k, T[k]?.fanout?.find((x) => x.saturation)?.saturation?.messages_per_second ?? null])) },
    { label: 'spread', values: Object.fromEntries(['service', 'socketio', 'ws'].map((k) => [k, T[k]?.spread?.saturation?.messages_per_second ?? null])) },
  ];
  parts.push(panel(510, 380, 470, 300, 'Messages / s at saturation', satGroups, ['service', 'socketio', 'ws']));

  const legend = ['service', 'socketio', 'ws', 'floor']
    .map((k, i) => `<rect x="${20 + i * 120}" y="${H - 22}" width="12" height="12" fill="${COLORS[k]}"/><text x="${36 + i * 120}" y="${H - 12}" font-size="11">${k === 'socketio' ? 'socket.io' : k === 'floor' ? 'floor (bare ws)' : k}</text>`)
    .join('\n');
  const title = `Session sync benchmark — ${r.meta.mode} run, ${r.meta.cores} cores, ${r.meta.database}, ${r.meta.bus}${T.service ? '' : ' (service not measured)'}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="20" y="24" font-size="15" font-weight="bold">${esc(title)}</text>
${parts.join('\n')}
${legend}
</svg>
`;
}
