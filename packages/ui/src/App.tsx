/**
 * The app shell: who is signed in (checked once at start; a 401 from any
 * call returns here), the navigation, the theme, and which screen the URL
 * names.
 */
import { useEffect, useState } from 'react';
import { setSignedOutHandler, signOut, whoami, type Whoami } from './lib/api.js';
import { navigate, screenOf, useLocation } from './lib/url-state.js';
import { ErrorBoundary, ErrorMessage, Loading } from './components/Feedback.js';
import { SignIn } from './pages/SignIn.js';
import { Explore } from './pages/Explore.js';
import { TraceView } from './pages/TraceView.js';
import { ServiceMap } from './pages/ServiceMap.js';
import { Sources } from './pages/Sources.js';

type Theme = 'light' | 'dark';

function initialTheme(): Theme {
  const saved = localStorage.getItem('meshlog.theme');
  if (saved === 'light' || saved === 'dark') return saved;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function App() {
  const [me, setMe] = useState<Whoami | null | undefined>(undefined);
  const [error, setError] = useState<unknown>();
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const loc = useLocation();

  useEffect(() => {
    document.documentElement.dataset['theme'] = theme;
    localStorage.setItem('meshlog.theme', theme);
  }, [theme]);

  useEffect(() => {
    setSignedOutHandler(() => setMe(null));
    whoami().then((w) => setMe(w ?? null), setError);
  }, []);

  if (error) return <ErrorMessage error={error} />;
  if (me === undefined) return <Loading what="Starting" />;
  if (me === null) return <SignIn onSignedIn={setMe} />;

  const screen = screenOf(loc.pathname);
  const link = (to: string, label: string, active: boolean) => (
    <a
      href={to}
      aria-current={active ? 'page' : undefined}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {label}
    </a>
  );
  return (
    <div className="app">
      <header className="top-bar">
        <span className="brand">Meshlog</span>
        <nav aria-label="Screens">
          {link('/ui/explore', 'Explore', screen.name === 'explore')}
          {link('/ui/map', 'Service map', screen.name === 'map')}
          {link('/ui/sources', 'Sources', screen.name === 'sources')}
        </nav>
        <span className="spacer" />
        <button type="button" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`} data-testid="theme-toggle">
          {theme === 'dark' ? '☀ Light' : '☾ Dark'}
        </button>
        <span className="who" data-testid="whoami">
          {me.name} <small>({me.tenant})</small>
        </span>
        <button type="button" onClick={() => void signOut().then(() => setMe(null))}>
          Sign out
        </button>
      </header>
      <main className="screen">
        <ErrorBoundary key={loc.pathname}>
          {screen.name === 'explore' && <Explore search={loc.search} />}
          {screen.name === 'trace' && <TraceView traceId={screen.traceId} />}
          {screen.name === 'map' && <ServiceMap search={loc.search} />}
          {screen.name === 'sources' && <Sources />}
        </ErrorBoundary>
      </main>
    </div>
  );
}
