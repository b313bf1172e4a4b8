import helmet from 'helmet';

/**
 * helmet's standard headers on every answer (page, API, docs). The Content-Security-Policy
 * allows what the page in web/ and the Swagger UI load: their own scripts and styles (the
 * Swagger UI sets inline styles), images from data: URLs, and connections to this origin
 * ('self' covers ws:/wss: to the same host). No upgrade-insecure-requests: the service is
 * often reached over plain HTTP (loopback, a LAN, behind a TLS-terminating proxy that sets
 * its own), where upgrading would break every request of the page.
 */
export function securityHeaders() {
  return helmet({
    contentSecurityPolicy: {
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'", "'unsafe-inline'"],
        'img-src': ["'self'", 'data:'],
        'connect-src': ["'self'"],
        'upgrade-insecure-requests': null,
      },
    },
  });
}
