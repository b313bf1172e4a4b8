import { useState, type FormEvent, type KeyboardEvent } from 'react';
import { CloseCode } from '../../../src/protocol/protocol.js';
import { SessionClientState } from '../client/index.js';
import { useSession } from '../client/react.js';
import { ApiError, createInteraction } from './api.js';
import { ConnectionStatus } from './ConnectionStatus.js';
import { ErrorMessage } from './ErrorMessage.js';
import { Transcript } from './Transcript.js';

interface Props {
  apiKey: string;
  sessionId: string;
  onUnauthorized: () => void;
}

const NO_INTERACTIONS: never[] = [];

export function SessionView({ apiKey, sessionId, onUnauthorized }: Props) {
  // The WebSocket authenticates with the access_token cookie set at sign-in.
  const { session, version, status, reason, gone, lastError, reconnect } = useSession(sessionId);
  const stoppedForAuth = status === SessionClientState.Stopped && reason?.code === CloseCode.Unauthorized;

  return (
    <section className="session-view" data-session-id={sessionId} data-version={version}>
      <header className="session-header">
        <a href="#/" className="back">
          ← All sessions
        </a>
        <h1 data-testid="session-name">{session?.name ?? (gone ? 'Session not found' : 'Loading…')}</h1>
        <ConnectionStatus status={status} reason={reason} onReconnect={gone ? undefined : reconnect} />
      </header>
      {gone && <ErrorMessage error="This session does not exist, was deleted, or is not yours." />}
      {stoppedForAuth && (
        <p className="error" role="alert">
          The live connection refused your key.{' '}
          <button type="button" className="link" onClick={onUnauthorized}>
            Sign in again
          </button>
        </p>
      )}
      {lastError && status !== SessionClientState.Connected && (
        <p className="muted" data-testid="server-error">{lastError.message}</p>
      )}
      <Transcript interactions={session?.interactions ?? NO_INTERACTIONS} />
      {!gone && <PromptForm apiKey={apiKey} sessionId={sessionId} onUnauthorized={onUnauthorized} />}
    </section>
  );
}

function PromptForm({ apiKey, sessionId, onUnauthorized }: Props) {
  const [prompt, setPrompt] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function send(ev?: FormEvent) {
    ev?.preventDefault();
    if (!prompt.trim() || busy) return;
    setBusy(true);
    setError(null);
    try {
      // The new interaction shows up through the live connection, not from this answer,
      // so the transcript has one source of truth.
      await createInteraction(apiKey, sessionId, prompt);
      setPrompt('');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return onUnauthorized();
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  function onKeyDown(ev: KeyboardEvent<HTMLTextAreaElement>) {
    if (ev.key === 'Enter' && (ev.metaKey || ev.ctrlKey)) void send();
  }

  return (
    <form className="prompt-form" data-testid="prompt-form" onSubmit={send}>
      <ErrorMessage error={error} />
      <textarea
        name="prompt"
        rows={3}
        maxLength={100_000}
        placeholder="Write a prompt (Ctrl+Enter to send)"
        value={prompt}
        onChange={(e) => setPrompt(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <button type="submit" className="primary" disabled={busy || !prompt.trim()}>
        {busy ? 'Sending…' : 'Send'}
      </button>
    </form>
  );
}
