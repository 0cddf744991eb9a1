import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll } from 'vitest';
import { tracked } from './leaks.js';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it when root). */
export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export const browserMissing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install chromium)`;
if (browserMissing) console.warn(`dashboard browser tests skipped: ${browserMissing}`);

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The dashboard the server serves, built when it is not (`npm test` builds it first; a single file run may not have). */
export async function ensureDashboardBuilt(): Promise<void> {
  if (existsSync(`${ROOT}dist/ui/index.html`)) return;
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
  const watched: WatchedPage = { page, context, problems: [], requests: [], blocked: [] };
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
      if (sameServer(socket.url())) return socket.connectToServer();
      watched.blocked.push(socket.url());
      return socket.close({ code: 1008, reason: 'blocked by the test' });
    },
  );
  page.on('request', (request) => watched.requests.push(request.url()));
  page.on('websocket', (socket) => watched.requests.push(socket.url()));
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
