/**
 * Sign-in: a user account (session cookie), an API token (kept for this tab
 * only), or single sign-on when the server has OpenID Connect configured
 * (probed once: the login route redirects when it is, and refuses when not).
 */
import { useEffect, useState } from 'react';
import { signInWithPassword, signInWithToken, type Whoami } from '../lib/api.js';
import { ErrorMessage } from '../components/Feedback.js';

export function SignIn({ onSignedIn }: { onSignedIn(me: Whoami): void }) {
  const [mode, setMode] = useState<'password' | 'token'>('password');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [oidc, setOidc] = useState(false);

  useEffect(() => {
    fetch('/api/v1/auth/oidc/login', { redirect: 'manual', credentials: 'same-origin' })
      .then((r) => setOidc(r.type === 'opaqueredirect' || (r.status >= 300 && r.status < 400)))
      .catch(() => setOidc(false));
  }, []);

  const submit = async (e: React.FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(mode === 'password' ? await signInWithPassword(username, password) : await signInWithToken(token));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <h1>Meshlog</h1>
      <div className="tabs" role="tablist">
        <button type="button" role="tab" aria-selected={mode === 'password'} onClick={() => setMode('password')}>
          User account
        </button>
        <button type="button" role="tab" aria-selected={mode === 'token'} onClick={() => setMode('token')} data-testid="token-tab">
          API token
        </button>
      </div>
      <form onSubmit={submit} aria-label="Sign in">
        {mode === 'password' ? (
          <>
            <label>
              Username
              <input autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
            </label>
            <label>
              Password
              <input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
            </label>
          </>
        ) : (
          <label>
            API token
            <input type="password" value={token} onChange={(e) => setToken(e.target.value)} placeholder="mlk_…" required autoFocus data-testid="token-input" />
            <small>Kept in this tab only; closing it signs you out.</small>
          </label>
        )}
        <button type="submit" className="primary" disabled={busy} data-testid="sign-in">
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <ErrorMessage error={error} testId="sign-in-error" />
      {oidc && (
        <p>
          <a href="/api/v1/auth/oidc/login">Sign in with single sign-on</a>
        </p>
      )}
    </main>
  );
}
