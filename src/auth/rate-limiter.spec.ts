import { describe, expect, it } from '@jest/globals';
import { RateLimiter } from './rate-limiter.js';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('RateLimiter', () => {
  it('lets a burst through, then answers the seconds to wait, and refills over time', () => {
    const time = clock();
    const limiter = new RateLimiter(2, 3, time.now);
    expect([limiter.take('k'), limiter.take('k'), limiter.take('k')]).toEqual([0, 0, 0]);
    expect(limiter.take('k')).toBe(1);
    expect(limiter.exhausted('k')).toBe(1);
    time.advance(500);
    expect(limiter.exhausted('k')).toBe(0);
    expect(limiter.take('k')).toBe(0);
    expect(limiter.take('k')).toBe(1);
  });

  it('keeps one bucket per key', () => {
    const limiter = new RateLimiter(1, 1, clock().now);
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
    expect(limiter.take('b')).toBe(0);
  });

  it('waits whole seconds, at least one, even at a slow rate', () => {
    const limiter = new RateLimiter(0.1 as number, 1, clock().now);
    limiter.take('k');
    expect(limiter.take('k')).toBe(10);
  });

  it('never limits when the rate is 0', () => {
    const limiter = new RateLimiter(0, 0, clock().now);
    for (let i = 0; i < 100; i++) expect(limiter.take('k')).toBe(0);
    expect(limiter.size).toBe(0);
  });

  it('forgets full buckets once it holds too many keys', () => {
    const time = clock();
    const limiter = new RateLimiter(10, 5, time.now, 3);
    for (const key of ['a', 'b', 'c']) limiter.take(key);
    time.advance(1000);
    limiter.take('d');
    expect(limiter.size).toBe(1);
  });

  it('forgets the oldest keys when all are mid-burst, instead of growing', () => {
    const limiter = new RateLimiter(10, 5, clock().now, 10);
    for (let i = 0; i < 25; i++) limiter.take(`k${i}`);
    expect(limiter.size).toBeLessThanOrEqual(10);
    expect(limiter.take('k24')).toBe(0);
  });
});
