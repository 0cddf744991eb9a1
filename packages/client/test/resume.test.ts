import { LatestEventIdDocument, OnEventsDocument, PublishEventDocument, SwitchboardClient } from '@switchboard/client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { clientFactory } from '../../../test/support/client.js';
import { eventually, sleep } from '../../../test/support/wait.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { spawnNode, type NodeProcess } from '../../../test/support/nodes.js';

/**
 * Subscriptions resume across a lost connection: real `switchboard serve` processes on one database, one
 * killed or stopped while another keeps writing events; the subscriber must see each written id once, in order.
 */
let database: TestDatabase;
let writer: NodeProcess;
/** Servers a test started, stopped after it. */
const started: NodeProcess[] = [];
const clients = clientFactory();

beforeAll(async () => {
  database = await createTestDatabase();
  writer = await serve();
});

afterEach(async () => {
  await clients.closeAll();
  await Promise.all(started.splice(0).map((server) => server.stop('SIGKILL')));
});

afterAll(async () => {
  await writer?.stop('SIGKILL');
  await database?.drop();
});

async function serve(port = '0'): Promise<NodeProcess> {
  return spawnNode({ DATABASE_URL: database.url, PORT: port });
}

async function startServer(port = '0'): Promise<NodeProcess> {
  const server = await serve(port);
  started.push(server);
  return server;
}

/** Reconnects every 100ms for up to a minute: long enough for a server process to come back. */
const reconnecting = { retryAttempts: 600, retryWait: () => sleep(100) };

/**
 * Subscribes with `subscriber` to events of `type` (from the log's current end), publishes through the writer
 * while `disrupt` runs (given a wait for `count` more events written from then on), and returns the ids written
 * and the ids the subscriber received.
 */
async function writeThrough(subscriber: SwitchboardClient, type: string, disrupt: (writtenMore: (count: number) => Promise<void>) => Promise<void>) {
  const publisher = clients.create(writer.url);
  const { latestEventId } = await publisher.request(LatestEventIdDocument);
  // The end marker is of a type of its own: not one of the events compared.
  const endType = `${type}.end`;
  const stream = subscriber.subscribe(OnEventsDocument, { types: [type, endType], after: latestEventId });
  const received: string[] = [];
  let ended: string | undefined;
  const reading = (async () => {
    for await (const { events } of stream) {
      if (events.type === endType) ended = events.id;
      else received.push(events.id);
    }
  })();

  const written: string[] = [];
  const writtenMore = async (count: number) => {
    const from = written.length;
    await eventually(() => (written.length >= from + count ? true : undefined), 20_000);
  };
  let writing = true;
  const writes = (async () => {
    for (let i = 0; writing; i++) {
      const { publishEvent } = await publisher.request(PublishEventDocument, { input: { type, source: 'resume-test', data: { i } } });
      written.push(publishEvent.id);
      // Paced, so that events keep being written all through the disruption (a rate, not a wait for an event).
      await sleep(20);
    }
  })();
  await eventually(() => (received.length >= 5 ? true : undefined), 20_000);
  await disrupt(writtenMore);
  await writtenMore(10);
  writing = false;
  await writes;

  // Until the end marker, written after the last event, arrives (if it does): events come in log order, so every
  // event before it, and any duplicate of one, has arrived by then.
  const { publishEvent: end } = await publisher.request(PublishEventDocument, { input: { type: endType, source: 'resume-test', data: {} } });
  await eventually(() => (ended === end.id ? true : undefined), 60_000).catch(() => {});
  await stream.return!();
  await reading;
  return { written, received };
}

describe('a subscription resumes after the last event it received', () => {
  it('across a restart of its server (killed, started again on the same port): every event once, in order', async () => {
    const first = await startServer();
    const port = new URL(first.url).port;
    const subscriber = clients.create(first.url, undefined, reconnecting);
    const { written, received } = await writeThrough(subscriber, 'test.resume.restart', async (writtenMore) => {
      await first.stop('SIGKILL');
      await writtenMore(3); // events written meanwhile must not be lost
      expect((await startServer(port)).url).toBe(first.url);
    });
    expect(written.length).toBeGreaterThan(10);
    expect(received).toEqual(written);
  }, 120_000);

  it('across a move to another server (the first stops; the client fails over to the next URL): every event once, in order', async () => {
    const first = await startServer();
    const subscriber = clients.create(first.url, undefined, { ...reconnecting, url: [first.url, writer.url] });
    const { written, received } = await writeThrough(subscriber, 'test.resume.failover', async (writtenMore) => {
      await first.stop('SIGTERM');
      await writtenMore(3); // events written meanwhile must not be lost
    });
    expect(subscriber.url).toBe(writer.url);
    expect(written.length).toBeGreaterThan(10);
    expect(received).toEqual(written);
  }, 120_000);
});

describe('WebSocket implementation', () => {
  it('without a global WebSocket and none given, subscribing says what to pass', () => {
    vi.stubGlobal('WebSocket', undefined);
    try {
      const client = new SwitchboardClient({ url: writer.url });
      expect(() => client.subscribe(OnEventsDocument, {})).toThrow(/webSocketImpl/);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
