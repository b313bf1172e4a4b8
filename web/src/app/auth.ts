/**
 * The API key lives in localStorage (so a reload keeps you signed in) and in an
 * `access_token` cookie, because a browser cannot set headers on a WebSocket upgrade and a
 * cookie keeps the key out of URLs. REST calls send it as a Bearer header instead.
 */
const STORAGE_KEY = 'session-sync.api-key';
const COOKIE = 'access_token';
const ONE_YEAR = 60 * 60 * 24 * 365;

function writeCookie(value: string, maxAge: number): void {
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `${COOKIE}=${encodeURIComponent(value)}; Path=/; Max-Age=${maxAge}; SameSite=Strict${secure}`;
}

export function loadApiKey(): string | null {
  const key = localStorage.getItem(STORAGE_KEY);
  // The cookie may have expired or been cleared while storage kept the key.
  if (key) writeCookie(key, ONE_YEAR);
  return key;
}

export function saveApiKey(key: string): void {
  localStorage.setItem(STORAGE_KEY, key);
  writeCookie(key, ONE_YEAR);
}

export function clearApiKey(): void {
  localStorage.removeItem(STORAGE_KEY);
  writeCookie('', 0);
}
