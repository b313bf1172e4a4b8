import type { NextFunction, Request, Response } from 'express';

/** Deepest nesting of objects and arrays a request body may have. */
export const JSON_MAX_DEPTH = 32;

export interface BodyProblem {
  /** Dotted path of the offending value (`''` for the body itself). */
  field: string;
  message: string;
}

/**
 * Finds what a parsed JSON body must not hold before it reaches validation and the database:
 * nesting past `maxDepth` (class-transformer and class-validator recurse, and a body nested
 * thousands of levels deep overflowed their stack: a 500), and a NUL character in any string
 * or key (PostgreSQL refuses `\u0000` in text: a 500 at the INSERT). Iterative, so the check
 * itself cannot overflow; stops at the first problem.
 */
export function findBodyProblem(body: unknown, maxDepth = JSON_MAX_DEPTH): BodyProblem | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: body, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return { field: path, message: `${path || 'body'} must not contain a NUL character (\\u0000)` };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= maxDepth) return { field: path, message: `request body is nested deeper than ${maxDepth} levels (at ${path || 'body'})` };
    const entries: [string, unknown][] = Array.isArray(value) ? value.map((item, index) => [String(index), item]) : Object.entries(value);
    for (const [key, item] of entries) {
      const child = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      if (key.includes('\u0000')) return { field: child, message: `field names must not contain a NUL character (\\u0000): ${JSON.stringify(child)}` };
      stack.push({ value: item, path: child, depth: depth + 1 });
    }
  }
  return null;
}

/** An error the HTTP error filter answers with its status and message. */
export class BodyRejected extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const WRITES = new Set(['POST', 'PUT', 'PATCH']);

/** Where a request keeps its body's problem until its route is known (see BodyProblemInterceptor). */
const BODY_PROBLEM = Symbol('body problem');
type WithProblem = Request & { [BODY_PROBLEM]?: unknown };

/**
 * Express middleware, after the JSON parser. A write with no body reads as `{}`, so that the
 * route's own checks answer (404 for an unknown id, 400 naming the missing field) instead of
 * code meeting `undefined`; a write whose body is not JSON is refused with 415 naming the
 * header; a JSON body with a problem above is refused with 400.
 *
 * The refusal is not sent from here: at this point the route is not known, and an id that
 * can name nothing must be answered 404 whatever the body (ids are judged before bodies).
 * The problem is kept on the request and the body read as `{}`; BodyProblemInterceptor
 * throws it once routing, authentication and the rate limit have had their say.
 */
export function jsonBodyGuard(maxDepth = JSON_MAX_DEPTH) {
  return (request: Request, _response: Response, next: NextFunction): void => {
    if (request.body === undefined) {
      const length = Number(request.headers['content-length'] ?? 0);
      const chunked = request.headers['transfer-encoding'] !== undefined;
      if (WRITES.has(request.method) && (length > 0 || chunked)) {
        deferBodyProblem(request, new BodyRejected(415, `request body must be JSON (Content-Type: application/json), got Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')}`));
      } else {
        request.body = {};
      }
      return next();
    }
    const problem = findBodyProblem(request.body, maxDepth);
    if (problem) deferBodyProblem(request, new BodyRejected(400, problem.message));
    next();
  };
}

/**
 * Express error middleware right after the JSON parser: its failures (invalid JSON, over
 * BODY_LIMIT, an unsupported charset) are kept like the guard's, for the same reason.
 */
export function deferBodyParserErrors() {
  return (error: unknown, request: Request, _response: Response, next: NextFunction): void => {
    const type = (error as { type?: unknown } | null)?.type;
    if (typeof type !== 'string' || !type.startsWith('entity.') && type !== 'encoding.unsupported' && type !== 'charset.unsupported') return next(error);
    deferBodyProblem(request, error);
    next();
  };
}

function deferBodyProblem(request: Request, problem: unknown): void {
  (request as WithProblem)[BODY_PROBLEM] = problem;
  request.body = {};
}

/** The body problem kept for this request, if any. */
export function bodyProblemOf(request: Request): unknown {
  return (request as WithProblem)[BODY_PROBLEM];
}
