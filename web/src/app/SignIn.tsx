import { useState, type FormEvent } from 'react';
import { ApiError, listSessions } from './api.js';
import { ErrorMessage } from './ErrorMessage.js';

export function SignIn({ onSignIn, notice }: { onSignIn: (key: string) => void; notice: string | null }) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(notice);

  async function submit(ev: FormEvent) {
    ev.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) return;
    setBusy(true);
    setError(null);
    try {
      // Checked before it is stored, so a typo is reported here rather than on the next page.
      await listSessions(trimmed, null, 1);
      onSignIn(trimmed);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'That API key was not accepted.' : (err as Error).message);
      setBusy(false);
    }
  }

  return (
    <form className="card sign-in" data-testid="sign-in" onSubmit={submit}>
      <h1>Sign in</h1>
      <p className="muted">Paste the API key you were given (for example by <code>npm run cli -- users create NAME</code>).</p>
      <label>
        API key
        <input
          name="api_key"
          type="password"
          autoComplete="current-password"
          autoFocus
          value={key}
          onChange={(e) => setKey(e.target.value)}
        />
      </label>
      <ErrorMessage error={error} />
      <button type="submit" className="primary" disabled={busy || !key.trim()}>
        {busy ? 'Checking…' : 'Sign in'}
      </button>
    </form>
  );
}
