import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LatestEventIdDocument, OnEventsDocument, OnServiceChangedDocument, RegisterServiceDocument } from '../src/client/index.js';
import { clientFactory, instance, take } from './support/client.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { spawnNode, type NodeProcess } from './support/nodes.js';

/** Two `switchboard serve` processes sharing one database, as in production. */
let database: TestDatabase;
let a: NodeProcess;
let b: NodeProcess;
const clients = clientFactory();

beforeAll(async () => {
  database = await createTestDatabase();
  [a, b] = await Promise.all([spawnNode({ DATABASE_URL: database.url }), spawnNode({ DATABASE_URL: database.url })]);
});

afterAll(async () => {
  await clients.closeAll();
  await Promise.all([a?.stop(), b?.stop()]);
  await database?.drop();
});

describe('two server processes on one database', () => {
  it('a registration on A reaches a serviceChanged subscriber on B', async () => {
    const onA = clients.create(a.url);
    const onB = clients.create(b.url);
    const { latestEventId } = await onB.request(LatestEventIdDocument);
    const changes = onB.subscribe(OnServiceChangedDocument, { name: 'cross', after: latestEventId });

    await onA.request(RegisterServiceDocument, { input: instance({ id: 'cross-1', name: 'cross', address: '10.1.2.3' }) });

    const [change] = await take(changes, 1);
    expect(change!.serviceChanged).toMatchObject({ kind: 'REGISTERED', serviceId: 'cross-1', instance: { address: '10.1.2.3' } });
    await changes.return!();
  });

  it('under concurrent writers on both, a subscriber that disconnects and resumes elsewhere gets every event once, in order', async () => {
    const perNode = 120;
    const concurrency = 16;
    const writerA = clients.create(a.url);
    const writerB = clients.create(b.url);
    const { latestEventId: start } = await writerA.request(LatestEventIdDocument);

    const firstSubscriber = clients.create(b.url);
    const firstStream = firstSubscriber.subscribe(OnEventsDocument, { after: start, types: ['service.registered'] });

    const write = async (writer: typeof writerA, prefix: string) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < perNode) {
            const i = next++;
            await writer.request(RegisterServiceDocument, { input: instance({ id: `${prefix}-${i}`, name: 'load' }) });
          }
        }),
      );
    };
    const writing = Promise.all([write(writerA, 'from-a'), write(writerB, 'from-b')]);

    // Read part of the stream, then drop the connection while writers keep going.
    const beforeDrop = await take(firstStream, 70, 20_000);
    await firstSubscriber.close();

    // Resume on the other process from the last event seen.
    const resumedSubscriber = clients.create(a.url);
    const resumedStream = resumedSubscriber.subscribe(OnEventsDocument, { after: beforeDrop.at(-1)!.events.id, types: ['service.registered'] });
    await writing;
    const afterResume = await take(resumedStream, 2 * perNode - beforeDrop.length, 20_000);

    const received = [...beforeDrop, ...afterResume].map((value) => value.events);
    const ids = received.map((event) => Number(event.id));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(ids.length);

    const committed = await database.sql<{ id: string }[]>`
      select id from events where id > ${Number(start)} and type = 'service.registered' order by id`;
    expect(ids).toEqual(committed.map((row) => Number(row.id)));
    const instanceIds = new Set(received.map((event) => (event.data as { id: string }).id));
    expect(instanceIds.size).toBe(2 * perNode);
    await resumedStream.return!();
  });
});
