import type { IncomingHttpHeaders } from 'node:http';

/**
 * Whether a cookie-authenticated request may come from its `Origin`. The cookie is an ambient
 * credential: a page on another site could make the browser send it, so such requests are
 * accepted only from an allowed origin. `allowed` undefined means same-origin: the Origin's
 * host and port equal the request's `Host` header. Otherwise `allowed` holds normalized
 * origins (`scheme://host[:port]`, lowercase, default port omitted; see ALLOWED_ORIGINS).
 * A request without `Origin` is not a browser's cross-site request and is not judged here.
 */
export function originAllowed(headers: IncomingHttpHeaders, allowed: readonly string[] | undefined): boolean {
  const origin = headers.origin;
  if (origin === undefined) return true;
  const parsed = parseOrigin(origin);
  if (!parsed) return false;
  if (allowed) return allowed.includes(parsed.origin);
  const host = headers.host;
  if (!host) return false;
  try {
    // Read the Host with the Origin's scheme, so that a default port written out or left out compares equal.
    return new URL(`${parsed.protocol}//${host}`).host === parsed.host;
  } catch {
    return false;
  }
}

/** `scheme://host[:port]` lowercased with its default port omitted, or null for anything else (`null` included). */
export function normalizeOrigin(value: string): string | null {
  return parseOrigin(value)?.origin ?? null;
}

function parseOrigin(value: string): URL | null {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) return null;
  return url;
}
