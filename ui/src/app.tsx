import type { SwitchboardClient } from '@switchboard/client';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { DashboardLatestEventIdDocument } from './generated/graphql';
import { ConnectionContext, createClient, describeError, isUnauthenticated, type Connection } from './lib/connection';
import { href, Link, matchPath, useLocation, type PageDefinition } from './lib/router';
import { forgetToken, serverNeedsToken, storedToken, storeToken } from './lib/token';
import { pages } from './pages';
import { TokenForm } from './token-form';

type Session =
  | { kind: 'checking'; token: string | undefined }
  | { kind: 'token-needed'; problem: string | undefined; busy: boolean }
  | { kind: 'unreachable'; message: string }
  | { kind: 'ready'; client: SwitchboardClient; token: string | undefined };

const REFUSED = 'The server did not accept that token: it may be mistyped, revoked or expired.';

/**
 * Connects first: a cheap query (with the session's token, if one is kept) tells whether the server
 * answers and accepts it. A server that needs a token says so in the page, so with none kept the
 * form comes first. Only then are the pages shown.
 */
export function App() {
  const [session, setSession] = useState<Session>(() => initialSession(storedToken()));

  const connect = useCallback(async (token: string | undefined, remember: boolean) => {
    const client = createClient(token);
    try {
      await client.request(DashboardLatestEventIdDocument);
      if (token !== undefined && remember) storeToken(token);
      setSession({ kind: 'ready', client, token });
    } catch (error) {
      await client.close();
      if (isUnauthenticated(error)) {
        if (token !== undefined) forgetToken();
        setSession({ kind: 'token-needed', problem: token === undefined ? undefined : REFUSED, busy: false });
      } else {
        setSession({ kind: 'unreachable', message: describeError(error) });
      }
    }
  }, []);

  useEffect(() => {
    if (session.kind === 'checking') void connect(session.token, false);
  }, [session, connect]);

  const client = session.kind === 'ready' ? session.client : undefined;
  useEffect(() => () => void client?.close(), [client]);

  const connection = useMemo<Connection | undefined>(
    () =>
      session.kind === 'ready'
        ? {
            client: session.client,
            hasToken: session.token !== undefined,
            unauthenticated: () => {
              forgetToken();
              setSession({ kind: 'token-needed', problem: 'The server no longer accepts the token of this session: enter one again.', busy: false });
            },
          }
        : undefined,
    [session],
  );

  if (session.kind === 'checking') return <p class="splash">Connecting to the registry…</p>;
  if (session.kind === 'unreachable') {
    return (
      <main class="token-page">
        <div class="panel token-form" role="alert">
          <h1>Switchboard</h1>
          <p>The registry could not be reached: {session.message}</p>
          <button type="button" onClick={() => setSession({ kind: 'checking', token: storedToken() })}>
            Try again
          </button>
        </div>
      </main>
    );
  }
  if (session.kind === 'token-needed') {
    return (
      <TokenForm
        problem={session.problem}
        busy={session.busy}
        onSubmit={(token) => {
          setSession({ kind: 'token-needed', problem: undefined, busy: true });
          void connect(token, true);
        }}
      />
    );
  }
  return (
    <ConnectionContext.Provider value={connection}>
      <Shell
        hasToken={session.token !== undefined}
        onForget={() => {
          forgetToken();
          setSession(initialSession(undefined));
        }}
      />
    </ConnectionContext.Provider>
  );
}

/** With no token kept and a server that needs one, ask at once: a tokenless request would only be refused. */
function initialSession(token: string | undefined): Session {
  if (token === undefined && serverNeedsToken()) return { kind: 'token-needed', problem: undefined, busy: false };
  return { kind: 'checking', token };
}

function findPage(path: string): { page: PageDefinition; params: Record<string, string> } | undefined {
  for (const page of pages) {
    const params = matchPath(page.path, path);
    if (params) return { page, params };
  }
  return undefined;
}

function Shell({ hasToken, onForget }: { hasToken: boolean; onForget: () => void }) {
  const where = useLocation();
  const found = findPage(where.path);
  const title = found ? (typeof found.page.title === 'function' ? found.page.title(found.params) : found.page.title) : 'Not found';
  useEffect(() => {
    document.title = `${title} · Switchboard`;
  }, [title]);
  const nav = pages.filter((page) => page.nav).sort((a, b) => a.nav!.order - b.nav!.order);
  const Page = found?.page.component;

  return (
    <>
      <header class="top">
        <Link class="brand" href={href('/')}>
          Switchboard
        </Link>
        <nav aria-label="Pages">
          {nav.map((page) => (
            <Link key={page.path} href={href(page.path)} aria-current={found?.page === page ? 'page' : undefined}>
              {page.nav!.label}
            </Link>
          ))}
        </nav>
        {hasToken && (
          <button type="button" class="quiet" onClick={onForget} title="Remove the token from this session and ask for one again">
            Forget token
          </button>
        )}
      </header>
      <main class="content">
        {Page ? (
          <Page key={where.path} params={found.params} query={where.query} />
        ) : (
          <>
            <h1>Not found</h1>
            <p>
              There is no page at this address. <Link href={href('/')}>Go to the overview</Link>.
            </p>
          </>
        )}
      </main>
    </>
  );
}
