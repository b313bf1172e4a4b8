/**
 * `Prefer` request header (RFC 7240): a comma-separated list of preferences, each
 * `name[=value]` with optional `;parameters`, names case-insensitive, values tokens or
 * quoted strings. Only the first `return` preference counts (RFC 7240 §2: a repeated
 * preference is judged by its first instance).
 */
export function prefersMinimalReturn(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  for (const preference of splitOutsideQuotes(Array.isArray(header) ? header.join(',') : header, ',')) {
    const [head] = splitOutsideQuotes(preference, ';');
    const equals = head.indexOf('=');
    const name = (equals < 0 ? head : head.slice(0, equals)).trim().toLowerCase();
    if (name !== 'return') continue;
    const value = equals < 0 ? '' : unquote(head.slice(equals + 1).trim());
    return value.toLowerCase() === 'minimal';
  }
  return false;
}

/** The header that tells the client its preference was honoured. */
export const PREFERENCE_APPLIED_MINIMAL = 'return=minimal';

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '\\' && quoted) index++;
    else if (char === '"') quoted = !quoted;
    else if (char === separator && !quoted) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}
