/**
 * /login: a one-time link (`#token=…` from `sealsync ui`) logs in at once;
 * the token is removed from the address bar before anything else happens.
 * Otherwise (or when the link was used up) the password form.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from './api.js';

function takeTokenFromUrl(): string | null {
  const hash = new URLSearchParams(location.hash.slice(1));
  const query = new URLSearchParams(location.search);
  const token = hash.get('token') ?? query.get('token');
  if (token !== null || location.hash !== '') history.replaceState(null, '', '/login');
  return token;
}

const EXPIRED = 'This login link has expired or was already used. Run `sealsync ui` again.';

export function LoginPage() {
  const [message, setMessage] = useState<string | null>(location.hash === '#expired' ? EXPIRED : null);
  const [busy, setBusy] = useState(false);
  const [password, setPassword] = useState('');

  useEffect(() => {
    const tryToken = () => {
      const token = takeTokenFromUrl();
      if (token === null) return;
      setBusy(true);
      setMessage(null);
      api.login({ token })
        .then(() => location.replace('/'))
        .catch((err: unknown) => {
          setBusy(false);
          setMessage(err instanceof ApiError && err.code === 'ERR_LOGIN' ? EXPIRED : String((err as Error).message));
        });
    };
    tryToken();
    // Pasting another link into this tab only changes the fragment: no reload.
    window.addEventListener('hashchange', tryToken);
    return () => window.removeEventListener('hashchange', tryToken);
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setMessage(null);
    try {
      await api.login({ password });
      location.replace('/');
    } catch (err) {
      setBusy(false);
      setMessage(err instanceof ApiError && err.code === 'ERR_LOGIN' ? 'Wrong password.' : (err as Error).message);
    }
  };

  return (
    <main class="login">
      <div class="card login-card">
        <h1 class="brand">sealsync</h1>
        <p class="muted">Log in with the link from <code>sealsync ui</code>, or with the dashboard password.</p>
        {message && <p class="alert" role="alert" data-testid="login-message">{message}</p>}
        <form onSubmit={submit}>
          <label>
            Password
            <input type="password" autocomplete="current-password" value={password} required
              onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" class="primary" disabled={busy}>{busy ? 'Logging in…' : 'Log in'}</button>
        </form>
      </div>
    </main>
  );
}
