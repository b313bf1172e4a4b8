/** What every scenario gets: the mode, and a way to print progress. */
export interface Context {
  quick: boolean;
  log(line: string): void;
}

export type Figures = Record<string, number | string>;

/** One fault, self-checking: it returns its figures and every guarantee it saw broken. */
export interface Scenario {
  name: string;
  run(context: Context, guarantees: Guarantees): Promise<Figures>;
}

/** The guarantees a scenario checks; a broken one fails the scenario (and the suite). */
export class Guarantees {
  readonly broken: string[] = [];
  checked = 0;

  check(ok: boolean, what: string): boolean {
    this.checked++;
    if (!ok) this.broken.push(what);
    return ok;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Milliseconds until `done()` holds, polling every 20 ms; -1 after `timeoutMs`. */
export async function timeUntil(done: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await done()) return Math.round(performance.now() - start);
    if (performance.now() - start > timeoutMs) return -1;
    await sleep(20);
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const round = (value: number, digits = 2) => Number(value.toFixed(digits));
