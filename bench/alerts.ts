import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { percentile, startServer } from './support.js';

export interface AlertLatency {
  samples: number;
  p50Ms: number;
  p99Ms: number;
}

/** Posts one GraphQL operation and returns its data, throwing on errors. */
async function graphql<T>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: T; errors?: unknown };
  if (body.errors || body.data === undefined) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** A webhook receiver in this process: resolves the waiter registered for the next POST to a path. */
async function startReceiver(): Promise<{ url: (path: string) => string; next(path: string): Promise<number>; close(): Promise<void> }> {
  const waiters = new Map<string, ((at: number) => void)[]>();
  const server: Server = createServer((req, res) => {
    const at = performance.now();
    req.resume();
    req.on('end', () => {
      res.end('ok');
      waiters.get(req.url ?? '')?.shift()?.(at);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    next: (path) =>
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no webhook on ${path} within 10 s`)), 10_000);
        waiters.set(path, [
          ...(waiters.get(path) ?? []),
          (at) => {
            clearTimeout(timer);
            resolve(at);
          },
        ]);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const CREATE_RULE = 'mutation ($input: AlertRuleInput!) { createAlertRule(input: $input) { id } }';
const PUBLISH = 'mutation ($type: String!) { publishEvent(input: { type: $type, source: "bench" }) { id } }';
const REGISTER = 'mutation ($id: ID!) { registerService(input: { id: $id, name: "bench-alerted", address: "127.0.0.1", port: 1 }) { id } }';
const ADD_TTL_CHECK = 'mutation ($id: ID!) { registerHealthCheck(serviceId: $id, check: { ttl: "1h" }) { id } }';
const UPDATE_TTL = 'mutation ($id: ID!, $status: HealthStatusType!) { updateTtlCheck(checkId: $id, status: $status) { id } }';

/**
 * Alert latency: from the request making the change (a published event for EVENT_SEEN; an
 * instance's only check going critical for NO_PASSING with no `for`) to the webhook receiver
 * getting the POST. One change at a time; each alert resolves before the next sample.
 */
export async function runAlertLatency(options: { databaseUrl: string; samples: number }): Promise<{ eventSeen: AlertLatency; noPassing: AlertLatency }> {
  const server = await startServer({ DATABASE_URL: options.databaseUrl, SWITCHBOARD_ALERT_INTERVAL: '100ms' });
  const receiver = await startReceiver();
  try {
    await graphql(server.url, CREATE_RULE, {
      input: {
        name: 'bench events',
        kind: 'EVENT_SEEN',
        eventType: 'bench.alerted',
        hold: '100ms',
        receivers: [{ url: receiver.url('/events'), secret: 'bench-secret-0123456789' }],
      },
    });
    await graphql(server.url, REGISTER, { id: 'bench-alerted-1' });
    const { registerHealthCheck } = await graphql<{ registerHealthCheck: { id: string } }>(server.url, ADD_TTL_CHECK, { id: 'bench-alerted-1' });
    await graphql(server.url, UPDATE_TTL, { id: registerHealthCheck.id, status: 'PASSING' });
    await graphql(server.url, CREATE_RULE, {
      input: {
        name: 'bench down',
        kind: 'NO_PASSING',
        service: 'bench-alerted',
        receivers: [{ url: receiver.url('/down'), secret: 'bench-secret-0123456789' }],
      },
    });

    const eventSeen: number[] = [];
    for (let i = 0; i <= options.samples; i++) {
      const firing = receiver.next('/events');
      const resolved = receiver.next('/events');
      const begin = performance.now();
      await graphql(server.url, PUBLISH, { type: 'bench.alerted' });
      const at = await firing;
      if (i > 0) eventSeen.push(at - begin); // the first warms up
      await resolved;
    }

    const noPassing: number[] = [];
    for (let i = 0; i <= options.samples; i++) {
      const firing = receiver.next('/down');
      const begin = performance.now();
      await graphql(server.url, UPDATE_TTL, { id: registerHealthCheck.id, status: 'CRITICAL' });
      const at = await firing;
      if (i > 0) noPassing.push(at - begin);
      const resolved = receiver.next('/down');
      await graphql(server.url, UPDATE_TTL, { id: registerHealthCheck.id, status: 'PASSING' });
      await resolved;
    }
    const summary = (values: number[]): AlertLatency => ({ samples: values.length, p50Ms: percentile(values, 50), p99Ms: percentile(values, 99) });
    return { eventSeen: summary(eventSeen), noPassing: summary(noPassing) };
  } finally {
    await receiver.close();
    await server.stop();
  }
}
