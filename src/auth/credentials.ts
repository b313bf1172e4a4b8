import type { IncomingHttpHeaders } from 'node:http';

/** Where a key came from: only the cookie is an ambient credential, subject to the origin check. */
export type CredentialSource = 'header' | 'query' | 'cookie';

export type Credential = { kind: 'none' } | { kind: 'invalid' } | { kind: 'key'; key: string; source: CredentialSource };

/**
 * Picks the API key of a request, in the protocol's order of precedence: `Authorization`
 * header, then `access_token` query parameter, then `access_token` cookie. The first one
 * present is the one judged: a malformed header (a non-Bearer one included) is `invalid`
 * even when the query holds a good key, so a client never gets in by accident of order.
 */
export function extractCredential(headers: IncomingHttpHeaders, url: string | undefined): Credential {
  const authorization = headers.authorization;
  if (authorization !== undefined && authorization !== '') {
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    return match ? { kind: 'key', key: match[1], source: 'header' } : { kind: 'invalid' };
  }
  const query = queryParam(url, 'access_token');
  if (query) return { kind: 'key', key: query, source: 'query' };
  const cookie = cookieValue(headers.cookie, 'access_token');
  if (cookie) return { kind: 'key', key: cookie, source: 'cookie' };
  return { kind: 'none' };
}

export function queryParam(url: string | undefined, name: string): string | null {
  if (!url) return null;
  const query = url.indexOf('?');
  return query === -1 ? null : new URLSearchParams(url.slice(query + 1)).get(name);
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim()) || null;
      } catch {
        return null;
      }
    }
  }
  return null;
}
