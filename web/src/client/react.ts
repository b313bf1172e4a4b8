import { useCallback, useEffect, useMemo, useSyncExternalStore } from 'react';
import { SessionClient } from './session-client.js';
import { SessionClientState, type SessionClientOptions, type SessionClientSnapshot } from './types.js';

export type UseSessionOptions = Omit<SessionClientOptions, 'sessionId'>;

export interface UseSessionResult extends SessionClientSnapshot {
  /** Start again after `stopped` (for instance a "Reconnect" button). */
  reconnect: () => void;
}

const NO_SESSION: SessionClientSnapshot = Object.freeze({
  session: null,
  version: 0,
  status: SessionClientState.Idle,
  reason: null,
  gone: false,
  lastError: null,
});

/**
 * Follows one session for as long as the component is mounted. The result only changes
 * identity when the client's snapshot does, and `session.interactions` keeps unchanged
 * interactions as the same objects, so memoised children skip re-rendering.
 * A new client is made when `sessionId`, `baseUrl` or `accessToken` change; other options
 * are read once per client.
 */
export function useSession(sessionId: string | null, options: UseSessionOptions = {}): UseSessionResult {
  const { baseUrl, accessToken } = options;
  const client = useMemo(
    // Constructing opens nothing: the effect below connects, so a discarded render leaks nothing.
    () => (sessionId ? new SessionClient({ ...options, sessionId }) : null),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [sessionId, baseUrl, accessToken],
  );

  useEffect(() => {
    if (!client) return;
    client.connect();
    return () => client.disconnect();
  }, [client]);

  const subscribe = useCallback(
    (onChange: () => void) => (client ? client.subscribe(onChange) : () => {}),
    [client],
  );
  const getSnapshot = useCallback(() => (client ? client.getSnapshot() : NO_SESSION), [client]);
  const snapshot = useSyncExternalStore(subscribe, getSnapshot, getSnapshot);
  const reconnect = useCallback(() => client?.connect(), [client]);

  return useMemo(() => ({ ...snapshot, reconnect }), [snapshot, reconnect]);
}
