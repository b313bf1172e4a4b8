export function quantile(sorted, q) {
  if (!sorted.length) return null;
  // Nearest-rank: a p99 of 100 samples is the 99th value, never an interpolation between
  // samples that did not happen.
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
}

export function summarize(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return { n: 0, median: null, p99: null, max: null };
  return { n: v.length, median: round(quantile(v, 0.5)), p99: round(quantile(v, 0.99)), max: round(v[v.length - 1]) };
}

export function round(x, digits = 2) {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function fmt(x, unit = '') {
  return x === null || x === undefined ? 'n/a' : `${x}${unit}`;
}
