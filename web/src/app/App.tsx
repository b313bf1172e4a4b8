import { useCallback, useState } from 'react';
import { clearApiKey, loadApiKey, saveApiKey } from './auth.js';
import { useRoute } from './route.js';
import { SessionList } from './SessionList.js';
import { SessionView } from './SessionView.js';
import { SignIn } from './SignIn.js';

export function App() {
  const [apiKey, setApiKey] = useState(loadApiKey);
  const [notice, setNotice] = useState<string | null>(null);
  const route = useRoute();

  const signIn = useCallback((key: string) => {
    saveApiKey(key);
    setNotice(null);
    setApiKey(key);
  }, []);
  const signOut = useCallback((why?: string) => {
    clearApiKey();
    setNotice(why ?? null);
    setApiKey(null);
  }, []);
  /** A 401 anywhere means the stored key is no good any more. */
  const onUnauthorized = useCallback(() => signOut('Your API key was refused. Sign in again.'), [signOut]);

  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="#/">Sessions</a>
        {apiKey && (
          <button type="button" className="link" data-testid="sign-out" onClick={() => signOut()}>
            Sign out
          </button>
        )}
      </header>
      <main className="content">
        {!apiKey ? (
          <SignIn onSignIn={signIn} notice={notice} />
        ) : route.page === 'session' ? (
          <SessionView key={route.sessionId} apiKey={apiKey} sessionId={route.sessionId} onUnauthorized={onUnauthorized} />
        ) : (
          <SessionList apiKey={apiKey} onUnauthorized={onUnauthorized} />
        )}
      </main>
    </div>
  );
}
