import { Kind, type DocumentNode } from 'graphql';
import WebSocket from 'ws';
import { SwitchboardClient, SwitchboardRequestError } from '@switchboard/client';
import type { ServiceDefinitionInput, SubscribeOptions, SwitchboardClientOptions } from '@switchboard/client';
import { trackOpen } from './leaks.js';
import { withTimeout } from './wait.js';

export { SwitchboardClient, SwitchboardRequestError };

/** Clients a test opened, closed after it. They fail a subscription when its connection is lost, unless `options` say to reconnect. */
export function clientFactory() {
  const clients: SwitchboardClient[] = [];
  return {
    create(url: string, token?: string, options: Partial<SwitchboardClientOptions> = {}) {
      // Node 20 has no global WebSocket.
      const client = trackSubscriptions(new SwitchboardClient({ url, token, retryAttempts: 0, webSocketImpl: WebSocket, ...options }), url);
      clients.push(client);
      return client;
    },
    async closeAll() {
      await Promise.all(clients.splice(0).map((client) => client.close()));
    },
  };
}

/** Awaits a promise expected to fail with a GraphQL error; returns its code. */
export async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SwitchboardRequestError) return error.code;
    throw error;
  }
  throw new Error('expected the request to fail, but it succeeded');
}

/**
 * Each subscription is open (its WebSocket connected) until it is returned, ends, or
 * fails, or its client closes; one a test leaves open fails that test (leaks.ts).
 */
function trackSubscriptions(client: SwitchboardClient, url: string): SwitchboardClient {
  const ends = new Set<() => void>();
  const subscribe = client.subscribe.bind(client) as (
    document: DocumentNode,
    variables?: unknown,
    options?: SubscribeOptions,
  ) => AsyncIterableIterator<unknown>;
  const tracking = (document: DocumentNode, variables?: unknown, options?: SubscribeOptions): AsyncIterableIterator<unknown> => {
    const stream = subscribe(document, variables, options);
    const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION)?.name?.value ?? 'subscription';
    const release = trackOpen('subscription', `${operation} on ${url}`, () => stream.return!());
    const end = () => {
      ends.delete(end);
      release();
    };
    ends.add(end);
    return {
      next: () =>
        stream.next().then(
          (step) => {
            if (step.done) end();
            return step;
          },
          (error: unknown) => {
            end();
            throw error;
          },
        ),
      return: () => stream.return!().finally(end),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  };
  client.subscribe = tracking as SwitchboardClient['subscribe'];
  const close = client.close.bind(client);
  client.close = () => close().finally(() => [...ends].forEach((end) => end()));
  return client;
}

let counter = 0;

/** A valid definition; override what the test is about. */
export function instance(overrides: Partial<ServiceDefinitionInput> = {}): ServiceDefinitionInput {
  counter += 1;
  return {
    id: `instance-${process.pid}-${counter}`,
    name: 'api',
    version: '1.0.0',
    address: '10.0.0.1',
    port: 8080,
    ...overrides,
  };
}

/** Collects the next `count` values of a subscription (with a timeout, so a lost event fails the test). */
export async function take<T>(iterator: AsyncIterator<T>, count: number, timeoutMs = 10_000): Promise<T[]> {
  const values: T[] = [];
  const deadline = Date.now() + timeoutMs;
  while (values.length < count) {
    const step = await withTimeout(iterator.next(), deadline - Date.now(), `timed out after ${values.length} of ${count} values`);
    if (step.done) throw new Error(`subscription ended after ${values.length} of ${count} values`);
    values.push(step.value);
  }
  return values;
}

/**
 * A bare graphql-transport-ws connection, acknowledged and holding no subscription:
 * what a client sees of the connection itself (its close code), apart from any operation.
 */
export async function openGraphQLSocket(url: string, token?: string) {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const release = trackOpen('socket', `graphql-transport-ws to ${url}`, async () => socket.terminate());
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => {
      release();
      resolve({ code, reason: reason.toString() });
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: token ? { authorization: `Bearer ${token}` } : {} })));
    socket.on('message', (data) => {
      if ((JSON.parse(data.toString()) as { type?: string }).type === 'connection_ack') resolve();
    });
    void closed.then(({ code, reason }) => reject(new Error(`closed before connection_ack: ${code} ${reason}`)));
  });
  return {
    socket,
    closed,
    close: async () => {
      if (socket.readyState !== WebSocket.CLOSED) socket.close();
      await closed;
    },
  };
}
