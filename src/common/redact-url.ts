/**
 * The URL as it may be logged: every `access_token` query parameter's value replaced, however
 * its name is escaped (`access%5Ftoken` is the same parameter to URLSearchParams, hence to the
 * key extraction).
 */
export function redactUrl(url: string): string {
  const query = url.indexOf('?');
  if (query === -1) return url;
  const parts = url.slice(query + 1).split('&');
  let changed = false;
  const redacted = parts.map((part) => {
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    if (decodedName(name) !== 'access_token') return part;
    changed = true;
    return `${name}=[redacted]`;
  });
  return changed ? `${url.slice(0, query + 1)}${redacted.join('&')}` : url;
}

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}
