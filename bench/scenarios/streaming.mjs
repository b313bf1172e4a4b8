// Agent streaming: one reply of `--stream-appends` × `--stream-chunk` bytes, appended one
// PATCH at a time (as an agent streams it), to `--stream-subscribers` v1 subscribers and as
// many `delta=append` subscribers of the session, side by side. What each subscriber
// downloads, divided by the final text, is the figure: v1 frames carry the whole interaction
// every time (quadratic over a stream); `interaction_append` frames carry the chunk.
// The writer sends `Prefer: return=minimal` and `offset` when the service takes them; what
// the REST answers weigh is reported too. Every subscriber's text is checked against the
// database's at the end.
import { expectOk } from '../lib/http.mjs';
import { openProbe } from '../lib/probe.mjs';
import { summarize, round, fmt } from '../lib/stats.mjs';
import { HOST, now, sleep } from '../lib/context.mjs';

export default {
  name: 'streaming',
  title: 'agent streaming: bytes per subscriber ÷ final text, v1 beside delta=append',
  targets: ['service', 'ws'],
  async run(ctx) {
    const { T, R, opts } = ctx;
    const appends = opts['stream-appends'];
    const chunkBytes = opts['stream-chunk'];
    const subs = opts['stream-subscribers'];
    const [s] = await ctx.createSessions(T, 1, 1, 'streaming', { open: true, response: '' });
    const sid = s.id;
    const iid = s.iid;
    const url = (delta) => {
      const q = new URLSearchParams({ session_id: sid });
      if (T.key) q.set('access_token', T.key);
      if (delta) q.set('delta', 'append');
      return `ws://${HOST}:${T.port}/api/v1/ws/user?${q}`;
    };
    const v1 = await Promise.all(Array.from({ length: subs }, () => openProbe(url(null), { parse: false })));
    const dl = await Promise.all(Array.from({ length: subs }, () => openProbe(url('append'))));
    const refused = [...v1, ...dl].filter((p) => !p.first);
    if (refused.length) throw new Error(`${refused.length} subscribers got no snapshot (close codes ${[...new Set(refused.map((p) => p.closeCode))].join(', ')})`);
    const base = (p) => ({ bytes: p.bytes, frames: p.frames });
    const start = new Map([...v1, ...dl].map((p) => [p, base(p)]));

    // The writer. Feature probes ride on the first append: `offset` (a 400 naming it means
    // the service does not take it yet) and `Prefer: return=minimal` (Preference-Applied).
    const features = { offset: null, return_minimal: null };
    const text = [];
    let offset = 0;
    let restBytes = 0;
    const acks = [];
    const t0 = now();
    for (let k = 0; k < appends; k++) {
      const chunk = String.fromCharCode(97 + (k % 26)).repeat(chunkBytes);
      const body = { append: chunk };
      if (features.offset !== false) body.offset = offset;
      const w0 = now();
      let r = await ctx.api(T, 'PATCH', `/sessions/${sid}/interactions/${iid}`, body, { headers: { prefer: 'return=minimal' } });
      if (features.offset === null && r.status === 400 && /offset/.test(r.text)) {
        features.offset = false;
        delete body.offset;
        r = await ctx.api(T, 'PATCH', `/sessions/${sid}/interactions/${iid}`, body, { headers: { prefer: 'return=minimal' } });
      }
      if (r.status !== 200) throw new Error(`append ${k}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
      if (features.offset === null) features.offset = true;
      if (features.return_minimal === null) features.return_minimal = /return=minimal/.test(String(r.headers['preference-applied'] ?? ''));
      acks.push(now() - w0);
      restBytes += r.bytes;
      offset += Buffer.byteLength(chunk);
      text.push(chunk);
    }
    const writeSecs = (now() - t0) / 1000;
    const finalText = text.join('');
    const db = await expectOk(ctx.api(T, 'GET', `/sessions/${sid}`), 'get session');
    const finalVersion = db.version;
    const deadline = now() + 30000;
    while (now() < deadline && [...v1, ...dl].some((p) => p.version < finalVersion)) await sleep(50);
    const dbText = db.interactions.find((i) => i.id === iid)?.response_message;

    const side = (probes, kind) => {
      const received = probes.map((p) => p.bytes - start.get(p).bytes);
      const frames = probes.map((p) => p.frames - start.get(p).frames);
      const b = summarize(received);
      const types = {};
      for (const p of probes) for (const [t, x] of Object.entries(p.byType)) types[t] = (types[t] ?? 0) + x.frames;
      const textOk = probes.filter((p) =>
        kind === 'v1'
          ? p.lastRaw && JSON.parse(p.lastRaw.toString('utf8')).interaction.response_message === dbText
          : p.state?.interactions.find((i) => i.id === iid)?.response_message === dbText,
      ).length;
      return {
        subscribers: probes.length,
        bytes_per_subscriber: b.median,
        bytes_per_subscriber_max: b.max,
        frames_per_subscriber: summarize(frames).median,
        ratio_to_text: b.median === null ? null : round(b.median / Buffer.byteLength(finalText), 2),
        overhead_per_append_bytes: b.median === null ? null : round((b.median - Buffer.byteLength(finalText)) / appends, 0),
        frame_types: types,
        text_matches_database: `${textOk}/${probes.length}`,
        gaps: probes.reduce((a, p) => a + p.gaps, 0),
        reached_final_version: probes.filter((p) => p.version >= finalVersion).length,
      };
    };
    const v1Side = side(v1, 'v1');
    const dlSide = side(dl, 'append');
    features.delta_append = (dlSide.frame_types.interaction_append ?? 0) > 0;
    await Promise.all([...v1, ...dl].map((p) => p.close()));
    R.streaming = {
      appends,
      chunk_bytes: chunkBytes,
      text_bytes: Buffer.byteLength(finalText),
      database_text_matches_written: dbText === finalText,
      goal_bytes_per_subscriber: Buffer.byteLength(finalText) + 300 * appends,
      v1: v1Side,
      delta_append: dlSide,
      rest: {
        response_bytes_per_append: round(restBytes / appends, 0),
        ack: summarize(acks),
        appends_per_second_one_stream: round(appends / writeSecs, 0),
      },
      features,
    };
    const missing = [];
    if (!features.delta_append) missing.push('delta=append (its subscribers got interaction_update frames)');
    if (!features.return_minimal) missing.push('Prefer: return=minimal (no Preference-Applied)');
    if (!features.offset) missing.push('offset (400 naming it)');
    if (missing.length) {
      R.streaming.features_missing = missing;
      ctx.note(`streaming: ${T.label} does not take ${missing.join('; ')} yet`);
    }
    ctx.log(
      `  streaming ${T.label} ${appends} x ${chunkBytes} B to ${subs} v1 + ${subs} delta=append subscribers: ` +
        `v1 ${fmt(v1Side.bytes_per_subscriber, ' B')} per subscriber (${fmt(v1Side.ratio_to_text, '×')} the text), ` +
        `delta=append ${fmt(dlSide.bytes_per_subscriber, ' B')} (${fmt(dlSide.ratio_to_text, '×')}, ${fmt(dlSide.overhead_per_append_bytes, ' B')}/append over the text; goal ≤ 300); ` +
        `text matches v1 ${v1Side.text_matches_database}, delta ${dlSide.text_matches_database}; REST answer ${R.streaming.rest.response_bytes_per_append} B/append, ` +
        `one stream ${R.streaming.rest.appends_per_second_one_stream} appends/s (ack median ${fmt(R.streaming.rest.ack.median, ' ms')})`,
    );
  },
};
