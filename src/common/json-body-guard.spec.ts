import { describe, expect, it } from '@jest/globals';
import { BodyRejected, bodyProblemOf, findBodyProblem, jsonBodyGuard } from './json-body-guard.js';

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
}

describe('findBodyProblem', () => {
  it('accepts ordinary bodies', () => {
    expect(findBodyProblem({ name: 'x', list: [1, { b: 'ok' }] })).toBeNull();
    expect(findBodyProblem(nested(31))).toBeNull();
  });

  it('refuses nesting past the limit without recursing', () => {
    expect(findBodyProblem(nested(33))?.message).toMatch(/nested deeper than 32 levels/);
    expect(findBodyProblem(nested(100_000))?.message).toMatch(/nested deeper than 32/);
  });

  it('names the field that holds a NUL character', () => {
    expect(findBodyProblem({ prompt_message: 'a\u0000b' })).toEqual({ field: 'prompt_message', message: 'prompt_message must not contain a NUL character (\\u0000)' });
    expect(findBodyProblem({ a: [{ b: '\u0000' }] })?.field).toBe('a[0].b');
    expect(findBodyProblem({ 'k\u0000': 1 })?.message).toMatch(/field names must not contain a NUL/);
  });
});

describe('jsonBodyGuard', () => {
  /** The problem the guard keeps for the request (it always lets the request on, to be routed). */
  const run = (request: Record<string, unknown>) => {
    let passed: unknown = 'not called';
    jsonBodyGuard()(request as never, {} as never, (error?: unknown) => (passed = error));
    expect(passed).toBeUndefined();
    expect(request.body).toEqual(expect.anything());
    return bodyProblemOf(request as never);
  };

  it('reads a missing body as {}', () => {
    const request = { method: 'PATCH', headers: {}, body: undefined };
    expect(run(request)).toBeUndefined();
    expect(request.body).toEqual({});
  });

  it('refuses a write whose body is not JSON with 415', () => {
    const error = run({ method: 'PATCH', headers: { 'content-length': '3', 'content-type': 'text/plain' }, body: undefined });
    expect(error).toBeInstanceOf(BodyRejected);
    expect((error as BodyRejected).status).toBe(415);
    expect((error as BodyRejected).message).toMatch(/Content-Type/);
  });

  it('refuses a deep body with 400', () => {
    const error = run({ method: 'POST', headers: {}, body: nested(1000) });
    expect((error as BodyRejected).status).toBe(400);
  });
});
