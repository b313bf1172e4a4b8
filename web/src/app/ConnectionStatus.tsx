import { SessionClientState, type StopReason } from '../client/index.js';

const LABELS: Record<SessionClientState, string> = {
  [SessionClientState.Idle]: 'Not connected',
  [SessionClientState.Connecting]: 'Connecting…',
  [SessionClientState.Connected]: 'Connected',
  [SessionClientState.Reconnecting]: 'Reconnecting…',
  [SessionClientState.Stopped]: 'Stopped',
};

interface Props {
  status: SessionClientState;
  reason: StopReason | null;
  /** Offered when stopped, unless retrying cannot help. */
  onReconnect?: () => void;
}

export function ConnectionStatus({ status, reason, onReconnect }: Props) {
  return (
    <div
      className={`connection connection-${status}`}
      data-testid="connection-status"
      data-state={status}
      data-reason-code={reason?.code}
      role="status"
    >
      <span className="dot" aria-hidden="true" />
      <span>{LABELS[status]}</span>
      {reason && (
        <span className="reason">
          : {reason.message} ({reason.code})
        </span>
      )}
      {status === SessionClientState.Stopped && onReconnect && (
        <button type="button" className="link" onClick={onReconnect}>
          Reconnect
        </button>
      )}
    </div>
  );
}
