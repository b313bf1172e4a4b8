/** A seeded generator (mulberry32), so that a failing fuzz run can be replayed with its seed. */
export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(max: number): number {
    return Math.floor(this.next() * max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  bytes(length: number): Buffer {
    const buffer = Buffer.alloc(length);
    for (let i = 0; i < length; i++) buffer[i] = this.int(256);
    return buffer;
  }

  string(length: number): string {
    const alphabet = 'abcXYZ019 _-;:"\'\\/{}[]<>\u0000\u0001\u00e9\u4e2d\ud83d\ude00\n\t';
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }

  /** A JSON-able value of any shape, at most `depth` levels. */
  value(depth = 3): unknown {
    const kind = this.int(depth > 0 ? 9 : 6);
    switch (kind) {
      case 0: return null;
      case 1: return this.chance(0.5);
      case 2: return this.pick([0, -1, 1e308, 3.5, Number.MAX_SAFE_INTEGER, 2 ** 53 + 1]);
      case 3: return this.string(this.int(20));
      case 4: return this.string(this.pick([0, 1, 1000, 100_000]));
      case 5: return '';
      case 6: return Array.from({ length: this.int(4) }, () => this.value(depth - 1));
      case 7: return Object.fromEntries(Array.from({ length: this.int(4) }, () => [this.pick(['name', 'append', 'state', 'x', '__proto__', 'constructor', 'prompt_message']), this.value(depth - 1)]));
      default: return { __proto__: this.value(depth - 1), polluted: true };
    }
  }
}

/** `[[[…]]]` or `{"a":{"a":…}}`, `depth` levels deep, as text (JSON.stringify would recurse). */
export function deepJson(depth: number, object: boolean): string {
  return object ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) : '['.repeat(depth) + ']'.repeat(depth);
}
