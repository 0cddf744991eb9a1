import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { ServiceInstance } from '@switchboard/sdk';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/database.js';
import { startTestNode } from '../../../test/support/nodes.js';
import { eventually, withTimeout } from '../../../test/support/wait.js';
import { consulRegistry, signal } from './support/helpers.js';
import { startRecordingProxy } from './support/recording-proxy.js';

/** A Consul that is not there, that never answers, and that goes away mid-watch and comes back. */
const ADMIN = 'consul-outage-test-admin-token-0123456789';

const ids = (instances: readonly ServiceInstance[]) => instances.map((instance) => instance.id).sort();

/** A port nothing listens on: one the kernel just gave out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A server that accepts connections and never says a word. */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a Consul that does not answer', () => {
  it('a port nothing listens on: the first call fails UNAVAILABLE after the dial timeout, naming the backend', async () => {
    const port = await closedPort();
    const registry = consulRegistry({ address: `127.0.0.1:${port}`, dialTimeout: '600ms' });
    try {
      const started = performance.now();
      const error = await registry.discoverServices('anything').catch((thrown: unknown) => thrown);
      const elapsed = performance.now() - started;
      expect(error).toMatchObject({
        name: 'SwitchboardError',
        code: 'UNAVAILABLE',
        message: expect.stringMatching(
          new RegExp(`^consul http://127\\.0\\.0\\.1:${port} did not answer: no connection within the dial timeout \\(600ms\\).*ECONNREFUSED`),
        ),
      });
      // It kept dialling for the whole timeout (a server restarting is back within it), and not much longer.
      expect(elapsed).toBeGreaterThanOrEqual(600);
      expect(elapsed).toBeLessThan(600 + 1_500);
      await expect(registry.watchService('anything', () => {})).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await expect(registry.setConfig('a.b', 1)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      expect(await registry.health()).toMatchObject({ healthy: false, latencyMs: null, error: expect.stringContaining(registry.backend) });
    } finally {
      await registry.close();
    }
  });

  it('a server that accepts the connection and never answers: UNAVAILABLE after the request timeout', async () => {
    const silent = await silentServer();
    const registry = consulRegistry({ address: `127.0.0.1:${silent.port}`, dialTimeout: '5s', requestTimeout: '400ms' });
    try {
      const started = performance.now();
      const error = await registry.getConfig('a.b').catch((thrown: unknown) => thrown);
      const elapsed = performance.now() - started;
      expect(error).toMatchObject({
        code: 'UNAVAILABLE',
        message: expect.stringMatching(/did not answer GET \/v1\/kv\/switchboard\/config\/a\/b: no answer within 400ms/),
      });
      expect(elapsed).toBeGreaterThanOrEqual(400);
      expect(elapsed).toBeLessThan(400 + 1_500);
    } finally {
      await registry.close();
      await silent.close();
    }
  });
});

describe('the server stopped mid-watch', () => {
  it('calls onStale once, backs off while it is down, and resumes the watch with the whole set when it is back', async () => {
    const database = await createTestDatabase();
    let node = await startTestNode(database.url, { SWITCHBOARD_ADMIN_TOKEN: ADMIN });
    const port = node.port!;
    const proxy = await startRecordingProxy(port);
    // No rate limit to speak of: what spaces the attempts while the server is down is the backoff alone.
    const registry = consulRegistry({ address: proxy.address, token: ADMIN, dialTimeout: '300ms', watchRateLimit: { burst: 1_000, interval: '1ms' } });
    try {
      await registry.registerService({ id: 'phoenix-1', name: 'phoenix', address: '127.0.0.1', port: 7100 });
      const sets: string[][] = [];
      const stale: unknown[] = [];
      const wentStale = signal<unknown>();
      const stop = await registry.watchService('phoenix', (instances) => sets.push(ids(instances)), {
        onStale: (error) => {
          stale.push(error);
          wentStale.resolve(error);
        },
      });
      expect(sets).toEqual([['phoenix-1']]);

      await node.stop();
      const error = await withTimeout(wentStale.promise, 10_000, 'onStale was not called');
      expect(error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining(registry.backend) });
      const healthRequests = () => proxy.requests.filter((request) => request.path === '/v1/health/service/phoenix').length;
      const requestsAtStale = healthRequests();
      await expect(registry.discoverServices('phoenix')).rejects.toMatchObject({ code: 'UNAVAILABLE' });

      node = await startTestNode(database.url, { SWITCHBOARD_ADMIN_TOKEN: ADMIN, PORT: String(port) });
      // Back: the whole set again (current again), then a change made after it.
      const delivered = sets.length;
      await eventually(() => (sets.length > delivered ? true : undefined), 20_000);
      expect(sets.at(-1)).toEqual(['phoenix-1']);
      const requestsDown = healthRequests();
      await registry.registerService({ id: 'phoenix-2', name: 'phoenix', address: '127.0.0.2', port: 7100 });
      await eventually(() => (sets.at(-1)?.join() === 'phoenix-1,phoenix-2' ? true : undefined));
      expect(stale).toHaveLength(1);
      // No hot loop while it was down: a handful of attempts, backing off.
      expect(requestsDown - requestsAtStale).toBeLessThan(15);
      await stop();
    } finally {
      await registry.close();
      await proxy.close();
      await node.stop();
      await database.drop();
    }
  });
});
