import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';

const DIRECTIVES = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'upgrade-insecure-requests': null,
};

/** What a helmet middleware does to every response: headers it sets, headers it removes. */
export interface HeaderSet {
  set: [string, string][];
  remove: string[];
}

/**
 * helmet's standard headers on every answer (page, API, docs). The Content-Security-Policy
 * allows what the page in web/ loads: its own scripts and styles, images from data: URLs, and
 * connections to this origin ('self' covers ws:/wss: to the same host). The Swagger UI under
 * /api/docs also sets inline styles, so there alone styles may be inline. No
 * upgrade-insecure-requests: the service is often reached over plain HTTP (loopback, a LAN,
 * behind a TLS-terminating proxy), where upgrading would break every request of the page.
 *
 * With this configuration no header depends on the request (no nonces, no per-request
 * directives), so helmet runs once, at start-up, and every answer gets the headers it set:
 * a loop of setHeader instead of helmet's chain of fifteen middlewares per request (the
 * streaming write path answers thousands of requests a second).
 */
export function securityHeaders() {
  const strict = recordHeaders(helmet({ contentSecurityPolicy: { directives: DIRECTIVES } }));
  const docs = recordHeaders(helmet({ contentSecurityPolicy: { directives: { ...DIRECTIVES, 'style-src': ["'self'", "'unsafe-inline'"] } } }));
  return (request: Request, response: Response, next: NextFunction) => {
    apply(request.url.startsWith('/api/docs') ? docs : strict, response);
    next();
  };
}

/** Runs a request-independent middleware against a recording response; throws if it is not one. */
export function recordHeaders(middleware: (req: Request, res: Response, next: (err?: unknown) => void) => void): HeaderSet {
  const headers: HeaderSet = { set: [], remove: [] };
  const recorder = {
    setHeader: (name: string, value: unknown) => void headers.set.push([name, String(value)]),
    removeHeader: (name: string) => void headers.remove.push(name),
  };
  // A request with nothing on it: a middleware that reads it fails here, at start-up.
  const request = new Proxy({}, { get: (_target, property) => { throw new Error(`security headers depend on the request (${String(property)})`); } });
  let finished = false;
  middleware(request as Request, recorder as unknown as Response, (err) => {
    if (err) throw err;
    finished = true;
  });
  if (!finished) throw new Error('security headers: the middleware did not finish synchronously');
  return headers;
}

function apply(headers: HeaderSet, response: Response): void {
  for (let i = 0; i < headers.remove.length; i++) response.removeHeader(headers.remove[i]);
  for (let i = 0; i < headers.set.length; i++) response.setHeader(headers.set[i][0], headers.set[i][1]);
}
