import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeleteConfigDocument,
  LatestEventIdDocument,
  OnConfigChangedDocument,
  OnEventsDocument,
  OnServiceChangedDocument,
  PublishEventDocument,
  RegisterServiceDocument,
  SetConfigDocument,
} from '../src/client/index.js';
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

  it('under 400 concurrent writes on both, a subscriber that disconnects and resumes elsewhere gets every event once, in order', async () => {
    const perNode = 200; // half registrations, half custom events
    const concurrency = 16;
    const writerA = clients.create(a.url);
    const writerB = clients.create(b.url);
    const { latestEventId: start } = await writerA.request(LatestEventIdDocument);

    const firstSubscriber = clients.create(b.url);
    const firstStream = firstSubscriber.subscribe(OnEventsDocument, { after: start });

    const write = async (writer: typeof writerA, prefix: string) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < perNode) {
            const i = next++;
            if (i % 2 === 0) {
              await writer.request(RegisterServiceDocument, { input: instance({ id: `${prefix}-${i}`, name: 'load' }) });
            } else {
              await writer.request(PublishEventDocument, { input: { type: 'load.tick', source: prefix, data: { id: `${prefix}-${i}` } } });
            }
          }
        }),
      );
    };
    const writing = Promise.all([write(writerA, 'from-a'), write(writerB, 'from-b')]);

    // Read part of the stream, then drop the connection while writers keep going.
    const beforeDrop = await take(firstStream, 120, 20_000);
    await firstSubscriber.close();

    // Resume on the other process from the last event seen.
    const resumedSubscriber = clients.create(a.url);
    const resumedStream = resumedSubscriber.subscribe(OnEventsDocument, { after: beforeDrop.at(-1)!.events.id });
    await writing;
    const afterResume = await take(resumedStream, 2 * perNode - beforeDrop.length, 20_000);

    const received = [...beforeDrop, ...afterResume].map((value) => value.events);
    const ids = received.map((event) => Number(event.id));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(ids.length);

    const committed = await database.sql<{ id: string }[]>`select id from events where id > ${Number(start)} order by id`;
    expect(ids).toEqual(committed.map((row) => Number(row.id)));
    const writes = new Set(received.map((event) => (event.data as { id: string }).id));
    expect(writes.size).toBe(2 * perNode);
    await resumedStream.return!();
  });

  it('a config change on A reaches a configChanged watcher on B with old and new values, global fallback included', async () => {
    const onA = clients.create(a.url);
    const onB = clients.create(b.url);
    const { latestEventId } = await onB.request(LatestEventIdDocument);
    const prodWatcher = onB.subscribe(OnConfigChangedDocument, { key: 'payments.timeout', environment: 'prod', after: latestEventId });

    await onA.request(SetConfigDocument, { key: 'payments.timeout', value: '30s' }); // global, shows through in prod
    await onA.request(SetConfigDocument, { key: 'payments.timeout', value: '45s', environment: 'prod' });
    await onA.request(SetConfigDocument, { key: 'payments.timeout', value: '40s' }); // hidden: prod has its own
    await onA.request(DeleteConfigDocument, { key: 'payments.timeout', environment: 'prod' }); // prod falls back to 40s

    const changes = await take(prodWatcher, 3);
    expect(changes.map(({ configChanged: c }) => [c.oldValue, c.newValue, c.environment, c.inherited, c.deleted])).toEqual([
      [null, '30s', null, true, false],
      ['30s', '45s', 'prod', false, false],
      ['45s', '40s', 'prod', false, true],
    ]);
    await prodWatcher.return!();
  });
});
