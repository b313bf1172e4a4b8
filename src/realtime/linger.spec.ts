import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Linger } from './linger.js';

describe('Linger', () => {
  let expired: string[];
  beforeEach(() => {
    jest.useFakeTimers();
    expired = [];
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  const linger = (ms = 1000, max = 3, maxBytes = 100) => new Linger<string>({ ms, max, maxBytes }, (item) => void expired.push(item));

  it('expires items after their time, oldest first, and gives back the ones taken in time', () => {
    const kept = linger();
    kept.add('a', 'A', 1);
    jest.advanceTimersByTime(500);
    kept.add('b', 'B', 1);
    expect(kept.take('a')).toBe('A');
    jest.advanceTimersByTime(999);
    expect(expired).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(expired).toEqual(['B']);
    expect(kept.size).toBe(0);
    expect(kept.take('b')).toBeUndefined();
  });

  it('keeps at most max items and maxBytes together, evicting the oldest', () => {
    const kept = linger();
    for (const key of ['a', 'b', 'c', 'd']) kept.add(key, key.toUpperCase(), 10);
    expect(expired).toEqual(['A']);
    kept.add('e', 'E', 80);
    expect(expired).toEqual(['A', 'B']);
    expect(kept.bytes).toBe(100);
    kept.resize('d', 30);
    expect(expired).toEqual(['A', 'B', 'C', 'D']);
    expect(kept.bytes).toBe(80);
  });

  it('keeps nothing when off or when one item alone is over the byte bound', () => {
    expect(linger(0).add('a', 'A', 1)).toBe(false);
    expect(linger(1000, 0).add('a', 'A', 1)).toBe(false);
    expect(linger(1000, 3, 10).add('a', 'A', 11)).toBe(false);
    expect(expired).toEqual([]);
  });

  it('removes without expiring, and clear expires everything', () => {
    const kept = linger();
    kept.add('a', 'A', 1);
    kept.add('b', 'B', 1);
    kept.remove('a');
    kept.clear();
    expect(expired).toEqual(['B']);
    jest.advanceTimersByTime(5000);
    expect(expired).toEqual(['B']);
  });
});
