/**
 * The page: a header with the search box, a side bar with the views, the current view, and the
 * login form when the relay wants an admin token.
 */
import { useEffect, useState } from 'preact/hooks';
import { getJson, saveToken, savedToken, whenUnauthorized } from './api';
import { isConnected, onConnection, startLiveEvents, stopLiveEvents } from './live-events';
import { href, navigate, useRoute } from './router';
import { EventsView } from './views/events-view';
import { MailView } from './views/mail-view';
import { QueueView } from './views/queue-view';
import { SessionsView } from './views/sessions-view';
import { SettingsView } from './views/settings-view';

const VIEWS = [
  { id: 'mail', label: 'Mail', key: 'm' },
  { id: 'reports', label: 'Reports', key: 'r' },
  { id: 'queue', label: 'Queue', key: 'q' },
  { id: 'events', label: 'Events', key: 'e' },
  { id: 'sessions', label: 'SMTP sessions', key: 's' },
  { id: 'settings', label: 'Rules & settings', key: 'g' },
] as const;

type AuthState = 'checking' | 'login' | 'ok';

function Login(props: { onDone: () => void; failed: boolean }) {
  const [token, setToken] = useState('');
  return (
    <main class="login">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          saveToken(token.trim());
          props.onDone();
        }}
      >
        <h1>ims-relay</h1>
        <p>This relay's admin API needs its token (the --admin-token setting).</p>
        <label>
          Admin token
          <input
            type="password"
            name="token"
            autoComplete="current-password"
            autoFocus
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
          />
        </label>
        {props.failed ? <p class="error">That token was not accepted.</p> : null}
        <button type="submit" class="primary">
          Open
        </button>
        <p class="hint">The token is kept in this tab only (session storage).</p>
      </form>
    </main>
  );
}

export function App() {
  const route = useRoute();
  const [auth, setAuth] = useState<AuthState>('checking');
  const [failed, setFailed] = useState(false);
  const [tokenRequired, setTokenRequired] = useState(false);
  const [live, setLive] = useState(isConnected());
  const [navOpen, setNavOpen] = useState(false);

  const check = async () => {
    const result = await getJson<{ required: boolean; accepted: boolean }>('/api/v1/auth');
    setTokenRequired(result.required);
    if (result.accepted) {
      setAuth('ok');
      startLiveEvents();
    } else {
      setFailed(savedToken() !== '');
      setAuth('login');
    }
  };

  useEffect(() => {
    whenUnauthorized(() => {
      stopLiveEvents();
      setAuth('login');
      setFailed(true);
    });
    void check();
    return onConnection(setLive);
  }, []);

  useEffect(() => {
    const keys = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (e.altKey || e.ctrlKey || e.metaKey || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
      if (e.key === '/') {
        const search = document.querySelector<HTMLInputElement>('input[type=search]');
        if (search) {
          e.preventDefault();
          search.focus();
        }
        return;
      }
      const view = VIEWS.find((v) => v.key === e.key);
      if (view) navigate(href(view.id));
    };
    addEventListener('keydown', keys);
    return () => removeEventListener('keydown', keys);
  }, []);

  if (auth === 'checking') return <p class="loading">Loading…</p>;
  if (auth === 'login') return <Login failed={failed} onDone={() => void check()} />;

  const view = route.view;
  return (
    <div class="layout">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <button
          type="button"
          class="menu"
          aria-expanded={navOpen}
          aria-controls="nav"
          onClick={() => setNavOpen(!navOpen)}
        >
          ☰<span class="sr-only"> views</span>
        </button>
        <a class="brand" href={href('mail')}>
          ims-relay
        </a>
        <span class={`live ${live ? 'on' : 'off'}`} title="live updates from the event stream">
          {live ? '● live' : '○ reconnecting'}
        </span>
        {tokenRequired ? (
          <button
            type="button"
            class="logout"
            onClick={() => {
              saveToken('');
              stopLiveEvents();
              setFailed(false);
              setAuth('login');
            }}
          >
            Log out
          </button>
        ) : null}
      </header>
      <nav id="nav" class={`sidebar ${navOpen ? 'open' : ''}`} aria-label="views">
        <ul>
          {VIEWS.map((v) => (
            <li key={v.id}>
              <a
                href={href(v.id)}
                aria-current={view === v.id ? 'page' : undefined}
                onClick={() => setNavOpen(false)}
                title={`${v.label} (key ${v.key})`}
              >
                {v.label}
              </a>
            </li>
          ))}
        </ul>
        <p class="keys">
          Keys: {VIEWS.map((v) => v.key).join(' ')} switch views, / searches, j/k move in lists, Enter opens.
        </p>
      </nav>
      <main id="main" class="content" tabIndex={-1}>
        {view === 'mail' || view === 'reports' ? (
          <MailView key={view} reports={view === 'reports'} route={route} />
        ) : view === 'queue' ? (
          <QueueView route={route} />
        ) : view === 'events' ? (
          <EventsView route={route} />
        ) : view === 'sessions' ? (
          <SessionsView route={route} />
        ) : view === 'settings' ? (
          <SettingsView />
        ) : (
          <p>
            No such view. <a href={href('mail')}>Mail</a>
          </p>
        )}
      </main>
    </div>
  );
}
