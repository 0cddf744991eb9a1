import { createInterface } from 'node:readline';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/**
 * `count` graphql-ws connections, each with one configChanged subscription, in a
 * process of their own. Prints "connected" once every connection is acknowledged;
 * then, for each stdin line `expect <version> <timeoutMs>`, prints how many
 * subscribers received that version and when the first and the last did (epoch
 * milliseconds with sub-millisecond precision, comparable across processes).
 */
const { url, count, key } = JSON.parse(process.argv[2] ?? '{}') as { url: string; count: number; key: string };
const now = () => performance.timeOrigin + performance.now();

const receivedAt = new Map<number, number[]>();
const waiting = new Map<number, () => void>();
const clients: Client[] = [];

function received(version: number) {
  const times = receivedAt.get(version) ?? [];
  times.push(now());
  receivedAt.set(version, times);
  if (times.length === count) waiting.get(version)?.();
}

const BATCH = 200;
for (let start = 0; start < count; start += BATCH) {
  await Promise.all(
    Array.from({ length: Math.min(BATCH, count - start) }, async () => {
      const client = createClient({ url, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        const off = client.on('connected', () => {
          off();
          resolve();
        });
        client.on('error', reject);
      });
      client.subscribe<{ configChanged: { version: number } }>(
        { query: 'subscription ($key: String!) { configChanged(key: $key) { key environment newValue version } }', variables: { key } },
        {
          next: (message) => {
            if (message.errors) console.error(JSON.stringify(message.errors));
            else received(message.data!.configChanged.version);
          },
          error: (error) => console.error('subscription error', error),
          complete: () => {},
        },
      );
    }),
  );
}
console.log('connected');

for await (const line of createInterface({ input: process.stdin })) {
  const [command, argument, timeoutMs] = line.split(' ');
  if (command === 'expect') {
    const version = Number(argument);
    await new Promise<void>((resolve) => {
      if ((receivedAt.get(version)?.length ?? 0) >= count) return resolve();
      waiting.set(version, resolve);
      setTimeout(resolve, Number(timeoutMs));
    });
    const times = receivedAt.get(version) ?? [Number.NaN];
    console.log(JSON.stringify({ version, first: Math.min(...times), last: Math.max(...times), received: receivedAt.get(version)?.length ?? 0 }));
  } else if (command === 'exit') {
    await Promise.all(clients.map((client) => client.dispose()));
    process.exit(0);
  }
}
