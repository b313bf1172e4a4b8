// GET /metrics, read whatever it speaks. The service has answered one JSON object
// ({"sql_statements": …, "heap_used": …}); it may answer Prometheus text exposition
// instead (prom-client). Both are reduced to one flat object of numbers under the JSON
// names, so a scenario reads `m.sql_statements` either way; the format read is kept in
// `m.format` ('json' or 'prometheus') and reported in results.meta.metrics_format.

/** The JSON names the scenarios read, and the Prometheus families that carry them. */
const CANONICAL = {
  sql_statements: [/(^|_)sql_statements(_total)?$/],
  snapshot_queries: [/(^|_)snapshot_queries(_total)?$/, /(^|_)snapshot_reads(_total)?$/],
  bus_subscriptions: [/(^|_)bus_subscriptions$/],
  ws_connections: [/(^|_)ws_connections$/, /(^|_)websocket_connections$/],
  resyncs: [/(^|_)resyncs(_total)?$/],
  heap_used: [/^nodejs_heap_size_used_bytes$/, /(^|_)heap_used(_bytes)?$/],
  rss: [/^process_resident_memory_bytes$/, /(^|_)rss(_bytes)?$/],
};

export function parseMetrics(text) {
  const trimmed = String(text ?? '').trim();
  if (trimmed.startsWith('{')) {
    let j;
    try {
      j = JSON.parse(trimmed);
    } catch {
      return null;
    }
    const out = { format: 'json' };
    for (const [k, v] of Object.entries(j)) if (typeof v === 'number') out[k] = v;
    return out;
  }
  // Prometheus text: `name{labels} value [timestamp]`. Samples of one family are summed over
  // their labels (a counter split by kind still counts all); histogram buckets are skipped.
  const families = {};
  for (const line of trimmed.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!m || m[1].endsWith('_bucket')) continue;
    const v = Number(m[3]);
    if (!Number.isFinite(v)) continue;
    families[m[1]] = (families[m[1]] ?? 0) + v;
  }
  if (!Object.keys(families).length) return null;
  const out = { format: 'prometheus', ...families };
  for (const [key, patterns] of Object.entries(CANONICAL)) {
    for (const re of patterns) {
      const name = Object.keys(families).find((n) => re.test(n));
      if (name) {
        out[key] = families[name];
        break;
      }
    }
  }
  return out;
}

/** Every numeric field's change between two readings (counters and gauges alike), non-zero only. */
export function mdeltaAll(a, b) {
  if (!a || !b) return null;
  const out = {};
  for (const [k, val] of Object.entries(b)) {
    if (typeof val === 'number' && typeof a[k] === 'number' && val !== a[k]) out[k] = val - a[k];
  }
  return out;
}

export function mdelta(a, b, key) {
  return a && b && typeof a[key] === 'number' && typeof b[key] === 'number' ? b[key] - a[key] : null;
}

/**
 * The fields of a reading worth keeping in results.json: the canonical ones and the
 * service's own counters, without the runtime's defaults and histogram parts (a Prometheus
 * reading has hundreds).
 */
export function canonical(m) {
  if (!m) return null;
  const out = {};
  for (const [k, val] of Object.entries(m)) {
    if (typeof val !== 'number') continue;
    if (k in CANONICAL || !/^(nodejs_|process_|http_)|_(sum|count|created)$/.test(k)) out[k] = val;
  }
  return out;
}
