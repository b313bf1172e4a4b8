import { useSyncExternalStore } from 'react';

export type Route = { page: 'list' } | { page: 'session'; sessionId: string };

function parse(hash: string): Route {
  const match = /^#\/sessions\/([^/?#]+)$/.exec(hash);
  return match ? { page: 'session', sessionId: decodeURIComponent(match[1]) } : { page: 'list' };
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

export function sessionHref(sessionId: string): string {
  return `#/sessions/${encodeURIComponent(sessionId)}`;
}

/** The hash string is the snapshot: comparing strings keeps re-renders to real navigations. */
export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => location.hash);
  return parse(hash);
}
