// Every scenario size is a flag; `--quick` swaps in a one-minute set of defaults, and any
// flag given explicitly wins over either set.
const DEFAULTS = {
  targets: 'service,socketio,ws',
  'connect-sizes': '10,200',
  'connect-concurrency': '1,100',
  'connect-samples': 200, // sequential connects per size
  'connect-rounds': 10, // rounds of `concurrency` simultaneous connects per size
  'connect-sessions': 4, // sessions per size the connects are spread over
  fanout: '1,100,1000,10000',
  'fanout-writes': 20,
  'pool-sessions': 1000,
  'pool-subscribers': 10,
  'spread-writes': 1000,
  'spread-inflight': 16,
  'saturation-seconds': 5,
  'saturation-inflight': 8,
  'spread-saturation-inflight': 64,
  'storm-timeout': 60, // seconds to wait for every client to resync
  'prompt-bytes': 200,
  'response-bytes': 400,
  'append-bytes': 32,
  'clients-per-generator': 5000,
  generators: 0, // 0 = enough for the largest scenario, at least 2
  pin: 'auto', // auto | on | off
  port: 18080,
  'max-minutes': 25, // hard stop for the whole run
  'skip-build': false,
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
  'max-minutes': 6,
};

const LISTS = new Set(['connect-sizes', 'connect-concurrency', 'fanout']);

export function parseOptions(argv) {
  const given = {};
  let quick = false;
  for (const a of argv) {
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
    given[m[1]] = m[2] ?? true;
  }
  // Aliases phrased as the scenario is: 10,000 storm clients on 1,000 sessions.
  if (given['storm-sessions']) given['pool-sessions'] = given['storm-sessions'];
  if (given['storm-clients']) {
    const sessions = Number(given['pool-sessions'] ?? (quick ? QUICK : DEFAULTS)['pool-sessions']);
    given['pool-subscribers'] = Math.max(1, Math.round(Number(given['storm-clients']) / sessions));
  }
  const o = { ...DEFAULTS, ...(quick ? QUICK : {}), ...given, quick };
  for (const k of Object.keys(DEFAULTS)) {
    if (LISTS.has(k)) o[k] = String(o[k]).split(',').filter(Boolean).map(Number);
    else if (k === 'targets') o[k] = String(o[k]).split(',').filter(Boolean);
    else if (k === 'pin') o[k] = String(o[k]);
    else if (k === 'skip-build') o[k] = o[k] === true || o[k] === 'true';
    else o[k] = Number(o[k]);
  }
  for (const t of o.targets) if (!['service', 'socketio', 'ws'].includes(t)) throw new Error(`unknown target ${t}`);
  return o;
}

export const HELP = `node bench/run.mjs [--quick] [--flag=value ...]
  --targets=${DEFAULTS.targets}
  --connect-sizes=10,200 --connect-concurrency=1,100 --connect-samples=200 --connect-rounds=10
  --fanout=1,100,1000,10000 --fanout-writes=20
  --pool-sessions=1000 --pool-subscribers=10   (or --storm-sessions / --storm-clients)
  --spread-writes=1000 --spread-inflight=16 --saturation-seconds=5 --saturation-inflight=8 --spread-saturation-inflight=64
  --storm-timeout=60 --generators=0 --clients-per-generator=5000 --pin=auto|on|off
  --port=18080 --max-minutes=25 --skip-build`;
