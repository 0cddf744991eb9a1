import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page, type WebSocketRoute } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll } from 'vitest';
import { tracked } from './leaks.js';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it when root). */
export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export const browserMissing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install chromium)`;
if (browserMissing) console.warn(`dashboard browser tests skipped: ${browserMissing}`);

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

/**
 * The dashboard the server serves, built when it is missing or older than ui/ (`npm test` builds it
 * first; a single file run after an edit may not have): a test must not pass against a stale build.
 */
export async function ensureDashboardBuilt(): Promise<void> {
  const index = `${ROOT}dist/ui/index.html`;
  if (existsSync(index) && statSync(index).mtimeMs >= newestMtime(`${ROOT}ui`)) return;
  await build({ configFile: `${ROOT}ui/vite.config.ts`, logLevel: 'warn' });
}

export async function launchBrowser(): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  return tracked('browser', 'chromium', browser, 'close');
}

/** One browser for the file (starting one per test would cost seconds each). */
export function useBrowser(): { browser: Browser } {
  const fixture = {} as { browser: Browser };
  beforeAll(async () => {
    await ensureDashboardBuilt();
    fixture.browser = await launchBrowser();
  });
  afterAll(async () => {
    await fixture.browser?.close();
  });
  return fixture;
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught page errors, as text. */
  problems: string[];
  /** Every URL the page asked for. */
  requests: string[];
  /** Requests to any other origin than the server's, which were refused. */
  blocked: string[];
  /** Every text message the page sent over its WebSockets, parsed (graphql-ws: connection_init, subscribe…). */
  sent: { type?: string; payload?: Record<string, unknown> }[];
  /** Cuts the page's open WebSockets, as a lost connection would (the page sees `code`). */
  dropSockets(code?: number): Promise<void>;
}

/**
 * A page in a fresh context (its own sessionStorage) that may only talk to `serverUrl`'s origin:
 * every other request (HTTP or WebSocket) is aborted and recorded, as on a closed network. Console
 * errors and page errors are collected.
 */
export async function openPage(browser: Browser, serverUrl: string): Promise<WatchedPage> {
  const origin = new URL(serverUrl);
  const context = await browser.newContext();
  const page = await context.newPage();
  const open = new Set<WebSocketRoute>();
  const watched: WatchedPage = {
    page,
    context,
    problems: [],
    requests: [],
    blocked: [],
    sent: [],
    // 4499 (graphql-ws "terminated"): a connection lost without a fatal reason, which the client retries.
    async dropSockets(code = 4499) {
      await Promise.all([...open].map((socket) => socket.close({ code, reason: 'cut by the test' })));
      open.clear();
    },
  };
  const sameServer = (url: string) => {
    const target = new URL(url);
    return target.host === origin.host && ['http:', 'ws:'].includes(target.protocol);
  };
  await context.route(
    () => true,
    (route) => {
      const url = route.request().url();
      if (sameServer(url) || url.startsWith('data:')) return route.continue();
      watched.blocked.push(url);
      return route.abort('blockedbyclient');
    },
  );
  await context.routeWebSocket(
    () => true,
    (socket) => {
      if (sameServer(socket.url())) {
        // Messages flow both ways untouched; the route is kept to cut the connection.
        socket.connectToServer();
        open.add(socket);
        socket.onClose(() => open.delete(socket));
        return;
      }
      watched.blocked.push(socket.url());
      return socket.close({ code: 1008, reason: 'blocked by the test' });
    },
  );
  page.on('request', (request) => watched.requests.push(request.url()));
  page.on('websocket', (socket) => {
    watched.requests.push(socket.url());
    // What the page sends (its token travels in connection_init), as the browser sent it.
    socket.on('framesent', ({ payload }) => {
      if (typeof payload === 'string') watched.sent.push(JSON.parse(payload) as WatchedPage['sent'][number]);
    });
  });
  page.on('console', (message) => {
    if (message.type() === 'error') watched.problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => watched.problems.push(`page error: ${error.message}`));
  return watched;
}

/** The dashboard's URL on the server whose GraphQL endpoint is `serverUrl`. */
export function dashboardUrl(serverUrl: string, path = '/'): string {
  return new URL(`/ui${path}`, serverUrl).href;
}
