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

/**
 * helmet's standard headers on every answer (page, API, docs). The Content-Security-Policy
 * allows what the page in web/ loads: its own scripts and styles, images from data: URLs, and
 * connections to this origin ('self' covers ws:/wss: to the same host). The Swagger UI under
 * /api/docs also sets inline styles, so there alone styles may be inline. No
 * upgrade-insecure-requests: the service is often reached over plain HTTP (loopback, a LAN,
 * behind a TLS-terminating proxy), where upgrading would break every request of the page.
 */
export function securityHeaders() {
  const strict = helmet({ contentSecurityPolicy: { directives: DIRECTIVES } });
  const docs = helmet({ contentSecurityPolicy: { directives: { ...DIRECTIVES, 'style-src': ["'self'", "'unsafe-inline'"] } } });
  return (request: Request, response: Response, next: NextFunction) => (request.path.startsWith('/api/docs') ? docs : strict)(request, response, next);
}
