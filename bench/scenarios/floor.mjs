// The floor: the same connect to a bare ws server (the ws peer's /floor) that sends one
// frame of the size the service (or, without it, the ws peer) sent for each session size,
// with no lookup at all. Runs on the ws target, after the others.
import { connectPhase, warmUp } from '../lib/connect.mjs';
import { HOST } from '../lib/context.mjs';

export default {
  name: 'floor',
  title: 'bare ws connect receiving a frame of the same size (the floor of connect-to-state)',
  targets: ['ws'],
  async run(ctx) {
    const { T, results } = ctx;
    const sizes = new Map();
    const src = results.targets.service?.connect?.length ? results.targets.service.connect : (results.targets.ws?.connect ?? []);
    for (const r of src) if (r.frame_bytes && !sizes.has(r.interactions)) sizes.set(r.interactions, r.frame_bytes);
    if (!sizes.size) ctx.log('  floor: no connect-to-state figures to size the floor frames by; skipped');
    for (const [size, bytes] of sizes) {
      const specFor = () => ({ kind: 'ws', url: `ws://${HOST}:${T.port}/floor?bytes=${bytes}`, sid: 'floor' });
      await warmUp(ctx, specFor);
      const rows = await connectPhase(ctx, { ...T, key: null, label: 'floor' }, specFor, 'floor', size);
      for (const r of rows) results.floor.push({ ...r, sql_statements_per_connect: null, snapshot_queries_per_connect: null, floor_bytes: bytes });
    }
  },
};
