// Every scenario size is a flag; `--quick` swaps in a small set of defaults, and any flag
// given explicitly wins over either set. `--only a,b` picks scenarios by name.
const DEFAULTS = {
  only: '', // scenario names, comma-separated; empty = all
  targets: 'service,socketio,ws',
  'connect-sizes': '10,200',
  'connect-concurrency': '1,100',
  'connect-samples': 200, // sequential connects per size (and per kind in connect-kinds)
  'connect-rounds': 10, // rounds of `concurrency` simultaneous connects per size
  'connect-sessions': 4, // sessions per size the connects are spread over
  'kinds-interactions': 10, // session size for connect-kinds
  'linger-gap-ms': 200, // connect-kinds: how long ago the last socket of a lingering session left
  fanout: '1,100,1000,10000',
  // 60, not 20: a p99 over the deliveries of 20 writes is the tail of the slowest one or two,
  // and moved 0.73–1.32× the bare server between runs; over 60 it held at 1.04–1.06×.
  'fanout-writes': 60,
  'pool-sessions': 1000,
  'pool-subscribers': 10,
  'pool-interactions': 1,
  'spread-writes': 1000,
  'spread-inflight': 16,
  'saturation-seconds': 5,
  'saturation-inflight': 8,
  'spread-saturation-inflight': 64,
  'storm-timeout': 60, // seconds to wait for every client to resync
  'storm-down-ms': 2500, // restart storm: every target starts this long after the old process exited
  'since-interactions': 10, // storm-since: the pool's sessions grown to this many interactions
  'stream-appends': 1000,
  'stream-chunk': 16,
  'stream-subscribers': 20, // of each kind (v1 and delta=append)
  'resume-interactions': 200,
  'resume-samples': 50,
  'append-sessions': 1000,
  'append-long-sessions': 100,
  'append-long-bytes': 100000,
  'append-inflight': 64,
  'append-seconds': 10,
  'pgbench-clients': 16,
  'prompt-bytes': 200,
  'response-bytes': 400,
  'append-bytes': 32,
  'clients-per-generator': 5000,
  generators: 0, // 0 = enough for the largest scenario, at least 2
  pin: 'auto', // auto | on | off
  port: 18080,
  'max-minutes': 40, // hard stop for the whole run
  'skip-build': false,
  'cpu-prof': '', // a directory: the service runs with --cpu-prof there (profiles, not figures)
  'trace-gc': false, // the service runs with --trace-gc: every collection in its log (bench/out/service.log)
};

const QUICK = {
  'connect-samples': 30,
  'connect-rounds': 2,
  'connect-sessions': 2,
  fanout: '1,100,1000',
  'fanout-writes': 5,
  'pool-sessions': 100,
  'pool-subscribers': 10,
  'spread-writes': 100,
  'saturation-seconds': 1,
  'storm-timeout': 30,
  'stream-subscribers': 5,
  'resume-samples': 10,
  'append-sessions': 100,
  'append-long-sessions': 10,
  'append-seconds': 2,
  'max-minutes': 10,
};

const LISTS = new Set(['connect-sizes', 'connect-concurrency', 'fanout']);
const STRINGS = new Set(['targets', 'only']);

export function parseOptions(argv) {
  const given = {};
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') {
      quick = true;
      continue;
    }
    if (a === '--help' || a === '-h') {
      given.help = true;
      continue;
    }
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}`);
    if (!(m[1] in DEFAULTS) && !['storm-sessions', 'storm-clients'].includes(m[1])) throw new Error(`unknown flag --${m[1]}`);
    // `--only streaming` as well as `--only=streaming`: the bench takes no positional arguments.
    if (m[2] === undefined && argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) given[m[1]] = argv[++i];
    else given[m[1]] = m[2] ?? true;
  }
  // Aliases phrased as the scenario is: 10,000 storm clients on 1,000 sessions.
  if (given['storm-sessions']) given['pool-sessions'] = given['storm-sessions'];
  if (given['storm-clients']) {
    const sessions = Number(given['pool-sessions'] ?? (quick ? QUICK : DEFAULTS)['pool-sessions']);
    given['pool-subscribers'] = Math.max(1, Math.round(Number(given['storm-clients']) / sessions));
  }
  delete given['storm-sessions'];
  delete given['storm-clients'];
  const o = { ...DEFAULTS, ...(quick ? QUICK : {}), ...given, quick };
  for (const k of Object.keys(DEFAULTS)) {
    if (LISTS.has(k)) o[k] = String(o[k]).split(',').filter(Boolean).map(Number);
    else if (STRINGS.has(k)) o[k] = String(o[k] === true ? '' : o[k]).split(',').map((x) => x.trim()).filter(Boolean);
    else if (k === 'pin') o[k] = String(o[k]);
    else if (k === 'cpu-prof') o[k] = o[k] === true ? '' : String(o[k]);
    else if (k === 'skip-build' || k === 'trace-gc') o[k] = o[k] === true || o[k] === 'true';
    else {
      o[k] = Number(o[k]);
      if (!Number.isFinite(o[k])) throw new Error(`--${k} must be a number`);
    }
  }
  for (const t of o.targets) if (!['service', 'socketio', 'ws'].includes(t)) throw new Error(`unknown target ${t}`);
  return o;
}

export const HELP = `node bench/run.mjs [--quick] [--only=NAME,NAME] [--flag=value ...]
  (npm run bench -- --only=streaming,resume   passes flags through npm)
  --only=SCENARIOS (default: all; see bench/README.md) --targets=${DEFAULTS.targets}
  --connect-sizes=10,200 --connect-concurrency=1,100 --connect-samples=200 --connect-rounds=10 --connect-sessions=4
  --kinds-interactions=10 --linger-gap-ms=200
  --fanout=1,100,1000,10000 --fanout-writes=60
  --pool-sessions=1000 --pool-subscribers=10 --pool-interactions=1   (or --storm-sessions / --storm-clients)
  --spread-writes=1000 --spread-inflight=16 --saturation-seconds=5 --saturation-inflight=8 --spread-saturation-inflight=64
  --storm-timeout=60 --since-interactions=10
  --stream-appends=1000 --stream-chunk=16 --stream-subscribers=20
  --resume-interactions=200 --resume-samples=50
  --append-sessions=1000 --append-long-sessions=50 --append-long-bytes=100000 --append-inflight=64 --append-seconds=10 --pgbench-clients=16
  --generators=0 --clients-per-generator=5000 --pin=auto|on|off
  --port=18080 --max-minutes=40 --skip-build --cpu-prof=DIR (profile the service; its figures are then not comparable)
  --trace-gc (the service logs every garbage collection, with its time since start, to bench/out/service.log)`;
