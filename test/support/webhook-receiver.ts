import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tracked } from './leaks.js';

/** A webhook POST as a receiver got it: the raw body, parsed, and its headers. */
export interface ReceivedWebhook {
  path: string;
  rawBody: string;
  body: {
    version: string;
    groupKey: string;
    truncatedAlerts: number;
    status: 'firing' | 'resolved';
    receiver: string;
    groupLabels: Record<string, string>;
    commonLabels: Record<string, string>;
    commonAnnotations: Record<string, string>;
    externalURL: string;
    alerts: {
      status: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
      startsAt: string;
      endsAt: string;
      generatorURL: string;
      fingerprint: string;
    }[];
  };
  headers: Record<string, string | string[] | undefined>;
  at: number;
}

/**
 * What a receiver does with the signature, written independently of the server's code:
 * HMAC-SHA256 over "<timestamp>.<raw body>", compared in constant time.
 */
export function signatureValid(secret: string, webhook: ReceivedWebhook): boolean {
  const timestamp = String(webhook.headers['x-switchboard-timestamp'] ?? '');
  const given = String(webhook.headers['x-switchboard-signature'] ?? '');
  const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${webhook.rawBody}`).digest('hex')}`;
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

/**
 * A real HTTP server receiving webhooks. Each path answers 200 unless the test queued other
 * statuses for it (consumed one per request); every request is recorded.
 */
export async function startWebhookReceiver() {
  const received: ReceivedWebhook[] = [];
  const queued = new Map<string, number[]>();
  const listeners = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: ReceivedWebhook['body'];
      try {
        body = JSON.parse(rawBody) as ReceivedWebhook['body'];
      } catch {
        body = {} as ReceivedWebhook['body'];
      }
      received.push({ path, rawBody, body, headers: { ...req.headers }, at: Date.now() });
      const status = queued.get(path)?.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'ok' : 'failing on purpose');
      for (const listener of listeners) listener();
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver = {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    received,
    on: (path: string) => received.filter((webhook) => webhook.path === path),
    /** The next requests to `path` get these statuses, in order. */
    failNext: (path: string, ...statuses: number[]) => queued.set(path, [...(queued.get(path) ?? []), ...statuses]),
    /** Resolves once `path` has received `count` requests in all (rejects after `timeoutMs`). */
    waitFor(path: string, count: number, timeoutMs = 10_000): Promise<ReceivedWebhook[]> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const got = receiver.on(path);
          if (got.length < count) return false;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(got);
          return true;
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`${path} received ${receiver.on(path).length} of ${count} webhooks within ${timeoutMs}ms`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return tracked('target', `webhook receiver 127.0.0.1:${port}`, receiver, 'close');
}
