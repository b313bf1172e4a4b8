import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { SessionSummary } from '../../../src/protocol/protocol.js';
import { ApiError, createSession, listSessions } from './api.js';
import { ErrorMessage } from './ErrorMessage.js';
import { sessionHref } from './route.js';

interface Props {
  apiKey: string;
  onUnauthorized: () => void;
}

export function SessionList({ apiKey, onUnauthorized }: Props) {
  const [sessions, setSessions] = useState<SessionSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);

  const fail = useCallback(
    (err: unknown) => {
      if (err instanceof ApiError && err.status === 401) return onUnauthorized();
      setError((err as Error).message);
    },
    [onUnauthorized],
  );

  const load = useCallback(
    async (from: string | null) => {
      setLoading(true);
      setError(null);
      try {
        const page = await listSessions(apiKey, from);
        setSessions((prev) => (from ? [...prev, ...page.sessions] : page.sessions));
        setCursor(page.next_cursor);
      } catch (err) {
        fail(err);
      } finally {
        setLoading(false);
      }
    },
    [apiKey, fail],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  return (
    <section className="sessions">
      <CreateSession apiKey={apiKey} onError={fail} />
      <h1>Your sessions</h1>
      <ErrorMessage error={error} />
      {sessions.length === 0 && !loading && !error && <p className="muted">No sessions yet. Create one above.</p>}
      <ul className="session-list" data-testid="session-list">
        {sessions.map((s) => (
          <li key={s.id} data-session-id={s.id}>
            <a href={sessionHref(s.id)}>
              <span className="name">{s.name}</span>
              <time className="muted" dateTime={s.updated}>{formatTime(s.updated)}</time>
            </a>
          </li>
        ))}
      </ul>
      {loading && <p className="muted">Loading…</p>}
      {cursor && !loading && (
        <button type="button" data-testid="load-more" onClick={() => void load(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}

function CreateSession({ apiKey, onError }: { apiKey: string; onError: (err: unknown) => void }) {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);

  async function submit(ev: FormEvent) {
    ev.preventDefault();
    setBusy(true);
    try {
      const created = await createSession(apiKey, name.trim());
      location.hash = sessionHref(created.id);
    } catch (err) {
      onError(err);
      setBusy(false);
    }
  }

  return (
    <form className="card inline-form" data-testid="create-session" onSubmit={submit}>
      <input
        name="name"
        placeholder="New session name"
        maxLength={200}
        value={name}
        onChange={(e) => setName(e.target.value)}
      />
      <button type="submit" className="primary" disabled={busy || !name.trim()}>
        Create
      </button>
    </form>
  );
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}
