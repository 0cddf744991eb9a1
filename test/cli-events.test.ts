import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PublishEventDocument } from '@switchboard/client';
import { clientFactory } from './support/client.js';
import { runCli, startCli } from './support/cli.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { spawnNode, useRegistryNode } from './support/nodes.js';

// `switchboard events tail` follows the event log over WebSocket: from now, or replaying after --after; across
// a lost connection and a server restart it resumes after the last event it printed (each exactly once, in
// order); Ctrl-C ends it with exit 0 and no stack.

const ADMIN = 'cli-events-admin-token-0123456789';
const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: ADMIN });

interface PrintedEvent {
  id: string;
  type: string;
  data: { n?: number };
}

async function publish(url: string, clients: ReturnType<typeof clientFactory>, n: number, type = 'cli.test'): Promise<string> {
  const { publishEvent } = await clients.create(url, ADMIN).request(PublishEventDocument, { input: { type, source: 'cli-events', data: { n } } });
  return publishEvent.id;
}

describe('events tail', () => {
  it('prints only new events by default, one line each, and stops on Ctrl-C with exit 0', async () => {
    const old = await publish(registry.node.url, registry.clients, 0, 'cli.before');
    const tail = await startCli(['events', 'tail', '--type', 'cli.*'], { env: { SWITCHBOARD_URL: registry.node.url, SWITCHBOARD_TOKEN: ADMIN } });
    // The tail starts at the newest event when it starts: publish until one shows, then one more.
    let n = 0;
    await expect
      .poll(
        async () => {
          await publish(registry.node.url, registry.clients, ++n);
          return tail.lines.length;
        },
        { timeout: 15_000, interval: 200 },
      )
      .toBeGreaterThan(0);
    const last = await publish(registry.node.url, registry.clients, 1000);
    await tail.waitForLine((line) => line.startsWith(`#${last} `));
    expect(tail.lines.some((line) => line.startsWith(`#${old} `))).toBe(false);
    expect(tail.lines.at(-1)).toMatch(new RegExp(`^#${last} \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d cli\\.test cli-events by admin {2}n=1000$`));
    expect(await tail.stop('SIGINT')).toBe(0);
    expect(tail.stderr()).toBe('');
  });

  it('refuses a wrong token with exit 6, over HTTP and over the WebSocket', async () => {
    const env = { SWITCHBOARD_URL: registry.node.url, SWITCHBOARD_TOKEN: 'wrong-token' };
    const [fromNow, replaying] = await Promise.all([
      runCli(['events', 'tail', '--json'], { env }),
      runCli(['events', 'tail', '--after', '0', '--json'], { env }),
    ]);
    for (const result of [fromNow, replaying]) {
      expect({ code: result.code, error: result.json<{ error: { code: string } }>().error.code }, result.stderr).toEqual({ code: 6, error: 'UNAUTHENTICATED' });
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('events tail across server restarts', () => {
  const clients = clientFactory();
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('sees every event exactly once, in order, across a graceful restart and a crash', async () => {
    const env = { DATABASE_URL: database.url, SWITCHBOARD_ADMIN_TOKEN: ADMIN };
    let server = await spawnNode(env);
    const { url } = server;
    const tail = await startCli(['events', 'tail', '--type', 'cli.test', '--after', '0', '--json'], {
      env: { SWITCHBOARD_URL: url, SWITCHBOARD_TOKEN: ADMIN },
    });
    try {
      for (const n of [1, 2, 3]) await publish(url, clients, n);
      await tail.waitForLines(3);

      // A restart (SIGTERM: the server closes its sockets), then a crash (SIGKILL: they just drop). Each time
      // the next events are published as soon as the server is back, before the tail has reconnected: it must
      // fetch them on resuming, after the last one it printed.
      for (const [signal, batch] of [
        ['SIGTERM', [4, 5, 6]],
        ['SIGKILL', [7, 8, 9]],
      ] as const) {
        await server.stop(signal);
        await clients.closeAll();
        server = await spawnNode({ ...env, PORT: new URL(url).port });
        for (const n of batch) await publish(url, clients, n);
        await tail.waitForLines(batch.at(-1)!, 60_000);
      }
      // One more, so that a repeat of anything before it would have shown by now.
      await publish(url, clients, 10);
      await tail.waitForLines(10);

      const events = tail.lines.map((line) => JSON.parse(line) as PrintedEvent);
      expect(events.map((event) => event.data.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const ids = events.map((event) => Number(event.id));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(tail.stderr()).toMatch(/connection lost: reconnecting in [\d.]+s \(attempt 1\)/);

      expect(await tail.stop('SIGINT')).toBe(0);
      expect(tail.stderr()).not.toMatch(/\n\s+at /);
      expect(tail.lines).toHaveLength(10);
    } finally {
      await tail.stop('SIGKILL');
      await clients.closeAll();
      await server.stop();
    }
  }, 180_000);
});
