// `npm run bench`: builds and starts the service, drives it and two peer servers
// (Socket.IO with connection state recovery, plain ws) from separate load-generator
// processes on loopback, runs the scenarios in bench/scenarios/ (each file one scenario:
// `{ name, title, targets, with?, run(ctx) }`), and writes bench/out/results.{json,md,svg}.
// `--only a,b` picks scenarios, `--quick` small sizes. A benchmark reports: no figure ever
// fails the run; only a service that cannot be built or started does.
import { spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseOptions, HELP } from './lib/options.mjs';
import { closeAgent } from './lib/http.mjs';
import { hasTaskset, FD_LIMIT } from './lib/proc.mjs';
import { round } from './lib/stats.mjs';
import { writeReports } from './lib/report.mjs';
import { Generators } from './lib/generators.mjs';
import { makeContext, TARGETS, ROOT, OUT, BENCH } from './lib/context.mjs';
import { closePool } from './lib/pool.mjs';

/** Run order: the pool's scenarios last (they restart the server), the floor after the service. */
const ORDER = ['connect', 'connect-kinds', 'resume', 'streaming', 'append-throughput', 'fanout', 'fanout-paired', 'memory', 'spread', 'storm', 'storm-since', 'floor'];
const POOL_SCENARIOS = new Set(['memory', 'spread', 'storm', 'storm-since']);

let opts;
try {
  opts = parseOptions(process.argv.slice(2));
} catch (e) {
  console.error(String(e.message));
  console.error(HELP);
  process.exit(2);
}
if (opts.help) {
  console.log(HELP);
  process.exit(0);
}

const scenarios = new Map();
for (const name of ORDER) scenarios.set(name, (await import(`./scenarios/${name}.mjs`)).default);
for (const f of fs.readdirSync(path.join(BENCH, 'scenarios'))) {
  if (f.endsWith('.mjs') && !scenarios.has(f.slice(0, -4))) console.error(`bench: bench/scenarios/${f} is not in the runner's ORDER; not run`);
}
const unknown = opts.only.filter((n) => !scenarios.has(n));
if (unknown.length) {
  console.error(`bench: unknown scenario ${unknown.join(', ')}; known: ${ORDER.join(', ')}`);
  process.exit(2);
}
const selected = new Set(opts.only.length ? opts.only : ORDER);
for (const n of [...selected]) for (const w of scenarios.get(n).with ?? []) selected.add(w);

fs.mkdirSync(OUT, { recursive: true });
// Each run's logs and embedded database start empty, so bench/out only ever holds one run.
for (const f of fs.readdirSync(OUT)) {
  if (f.endsWith('.log') || f.startsWith('data-') || f.startsWith('pgbench-')) fs.rmSync(path.join(OUT, f), { recursive: true, force: true });
}

const backend = process.env.DATABASE_URL ? 'postgres' : 'embedded';
const bus = process.env.NATS_URL ? 'nats' : 'in-process';
const cores = os.cpus().length;
const pinned = opts.pin === 'on' || (opts.pin === 'auto' && cores >= 2 && hasTaskset());
const SERVER_CORES = pinned ? '0' : null;
const GEN_CORES = pinned ? (cores > 2 ? `1-${cores - 1}` : '1') : null;
if (pinned) {
  // The orchestrator only issues writes and collects results: keep it off the server's core.
  try {
    execFileSync('taskset', ['-p', '-c', GEN_CORES, String(process.pid)], { stdio: 'ignore' });
  } catch {}
}

const usesPool = [...selected].some((n) => POOL_SCENARIOS.has(n));
const maxClients = Math.max(selected.has('fanout') ? Math.max(...opts.fanout) : 0, usesPool ? opts['pool-sessions'] * opts['pool-subscribers'] : 0, 1);
const generatorCount = opts.generators || Math.max(2, Math.ceil(maxClients / opts['clients-per-generator']));

const results = {
  meta: {
    started: new Date().toISOString(),
    mode: opts.quick ? 'quick' : 'default',
    scenarios: ORDER.filter((n) => selected.has(n)),
    node: process.version,
    cores,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_gib: round(os.totalmem() / 2 ** 30, 1),
    database: backend === 'postgres' ? 'Postgres (DATABASE_URL)' : 'embedded default (PGlite under DATA_DIR)',
    bus: bus === 'nats' ? 'NATS (NATS_URL)' : 'in-process bus',
    pinned: pinned ? { server_cores: SERVER_CORES, generator_cores: GEN_CORES } : false,
    generators: generatorCount,
    fd_limit: FD_LIMIT,
    options: { ...opts },
  },
  floor: [],
  targets: {},
  notes: [],
};

const log = (...a) => console.log(...a);
log(`bench: ${opts.quick ? 'quick' : 'default'} run, ${cores} cores, node ${process.version}; scenarios ${results.meta.scenarios.join(', ')}`);
log(`bench: database ${results.meta.database}; bus ${results.meta.bus}`);
if (backend === 'embedded' || bus === 'in-process') log('bench: DATABASE_URL/NATS_URL not both set: the service runs on its embedded defaults');
log(`bench: ${generatorCount} load generators${pinned ? `, server pinned to core ${SERVER_CORES}, generators to ${GEN_CORES}` : ', not pinned'}`);

const hardStop = setTimeout(async () => {
  console.error(`bench: --max-minutes=${opts['max-minutes']} reached; writing what was measured and stopping`);
  results.notes.push(`run stopped by the --max-minutes=${opts['max-minutes']} bound; later scenarios are missing`);
  await finish(0);
}, opts['max-minutes'] * 60000);
hardStop.unref();

// Made after the build (a generator that waits through it would time out).
let gens = null;
let ctx = null;

function build() {
  if (opts['skip-build']) return;
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const steps = ['build'];
  // The web bundle is part of the production build; build it only if `build` does not already.
  if (pkg.scripts?.['build:web'] && !String(pkg.scripts.build ?? '').includes('build:web')) steps.push('build:web');
  for (const s of steps) {
    log(`bench: npm run ${s}`);
    const r = spawnSync('npm', ['run', s], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300000 });
    fs.writeFileSync(path.join(OUT, `${s.replace(':', '-')}.log`), Buffer.concat([r.stdout ?? Buffer.alloc(0), r.stderr ?? Buffer.alloc(0)]));
    if (r.status !== 0) throw new Error(`npm run ${s} failed (exit ${r.status}); see bench/out/${s.replace(':', '-')}.log`);
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'server', 'main.js'))) throw new Error('the build did not produce dist/server/main.js');
}

async function runTarget(name, list) {
  const T = { name, ...TARGETS[name], port: opts.port + TARGETS[name].offset, key: null, pool: null };
  const R = { label: T.label, errors: [] };
  results.targets[name] = R;
  log(`\n== ${T.label}: ${list.map((s) => s.name).join(', ')} ==`);
  T.srv = await ctx.launch(T);
  R.startup_ms = round(T.srv.readyMs, 0);
  if (name === 'service') T.key = await ctx.createServiceUser(T);
  const m = await ctx.metrics(T);
  R.metrics_endpoint = !!m;
  if (!m && name === 'service') log('  GET /metrics not available: SQL statements and bus subscriptions are n/a');
  const tctx = { ...ctx, T, R };
  for (const sc of list) {
    try {
      await sc.run(tctx);
    } catch (e) {
      R.errors.push(`${sc.name}: ${e.message}`);
      log(`  ${sc.name} failed: ${e.stack}`);
      await gens.all('closeAll', {}, 120000).catch(() => {});
      T.pool = null;
      // A scenario may have left the server stopped (the storm): bring it back for the next.
      if (T.srv.child.exitCode !== null || T.srv.child.signalCode !== null) {
        try {
          T.srv = await ctx.launch(T);
        } catch (e2) {
          R.errors.push(`restart after ${sc.name}: ${e2.message}`);
          break;
        }
      }
    }
    saveJson();
  }
  await closePool(tctx);
  await ctx.stop(T.srv, 30000);
}

function saveJson() {
  fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify(results, null, 2));
}

let finishing = false;
async function finish(code) {
  if (finishing) return;
  finishing = true;
  results.meta.finished = new Date().toISOString();
  results.meta.seconds = round((Date.now() - Date.parse(results.meta.started)) / 1000, 0);
  try {
    saveJson();
    writeReports(results, OUT);
    log(`\nbench: wrote bench/out/results.json, results.md, results.svg (${results.meta.seconds}s)`);
  } catch (e) {
    console.error(`bench: could not write the report: ${e.stack}`);
  }
  gens?.kill();
  await ctx?.stopAll();
  closeAgent();
  process.exit(code);
}

async function main() {
  let serviceReady = true;
  if (opts.targets.includes('service')) {
    try {
      build();
    } catch (e) {
      console.error(`bench: ${e.message}`);
      results.notes.push(e.message);
      serviceReady = false;
    }
  }
  gens = new Generators(generatorCount, GEN_CORES);
  ctx = makeContext({ opts, results, gens, env: { backend, bus, SERVER_CORES, GEN_CORES } });
  await gens.ready();
  // The ws target runs last so the floor can use the service's real frame sizes.
  const order = ['service', 'socketio', 'ws'].filter((t) => opts.targets.includes(t));
  let exitCode = 0;
  for (const t of order) {
    const list = ORDER.filter((n) => selected.has(n)).map((n) => scenarios.get(n)).filter((s) => s.targets.includes(t));
    if (!list.length) continue;
    if (t === 'service' && !serviceReady) {
      exitCode = 1;
      continue;
    }
    try {
      await runTarget(t, list);
    } catch (e) {
      console.error(`bench: ${TARGETS[t].label}: ${e.message}`);
      results.targets[t].errors.push(e.message);
      // A service that cannot start fails the run; a number never does.
      if (t === 'service') exitCode = 1;
    }
    saveJson();
  }
  await finish(exitCode);
}

process.on('SIGINT', () => finish(130));
main().catch((e) => {
  console.error(e.stack);
  finish(1);
});
