import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeartbeatDocument, OnEventsDocument, RegisterServiceDocument } from '@switchboard/client';
import type { TestNode } from './support/nodes.js';
import { clientFactory, instance, take } from './support/client.js';
import { eventually } from './support/wait.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startTestNode } from './support/nodes.js';

let database: TestDatabase;
const nodes: TestNode[] = [];
const clients = clientFactory();

beforeAll(async () => {
  database = await createTestDatabase();
  // Two nodes sweeping the same table, as in production; fast sweeps keep the test short.
  for (let i = 0; i < 2; i++) nodes.push(await startTestNode(database.url, { SWITCHBOARD_EXPIRY_SWEEP: '100ms' }));
});

afterAll(async () => {
  await clients.closeAll();
  for (const node of nodes) await node.stop();
  await database?.drop();
});

const ids = async () => (await database.sql<{ id: string }[]>`select id from services order by id`).map((row) => row.id);

describe('TTL leases', () => {
  it('an instance that stops heartbeating is removed by the server itself, with an event saying why', async () => {
    const client = clients.create(nodes[0]!.url);
    // From the start of the log, so it cannot matter when the subscription goes live.
    const removals = client.subscribe(OnEventsDocument, { types: ['service.unregistered'], after: '0' });

    await client.request(RegisterServiceDocument, { input: instance({ id: 'lapses', ttl: '1s' }) });
    await client.request(RegisterServiceDocument, { input: instance({ id: 'kept-alive', ttl: '1s' }) });
    const beats = setInterval(() => void client.request(HeartbeatDocument, { id: 'kept-alive' }).catch(() => {}), 250);

    try {
      await client.request(RegisterServiceDocument, { input: instance({ id: 'no-lease' }) });
      // A witness with twice the TTL: its removal proves the sweeps went on well past kept-alive's TTL.
      await client.request(RegisterServiceDocument, { input: instance({ id: 'outlasts', ttl: '2s' }) });

      // No queries from here on: only the subscription and direct reads of the table.
      const [removal] = await take(removals, 1, 10_000);
      expect(removal!.events.data).toMatchObject({ id: 'lapses', reason: 'ttl-expired', instance: { id: 'lapses', ttl: '1s' } });
      expect((await ids()).filter((id) => id !== 'outlasts')).toEqual(['kept-alive', 'no-lease']); // the witness may have lapsed too, on a slow machine

      // Well past the TTL (the witness lapsed and was swept), the heartbeated instance is still there.
      const [witness] = await take(removals, 1, 10_000);
      expect(witness!.events.data).toMatchObject({ id: 'outlasts', reason: 'ttl-expired' });
      expect(await ids()).toEqual(['kept-alive', 'no-lease']);
    } finally {
      clearInterval(beats);
    }

    // Once the heartbeats stop, it goes too.
    const [second] = await take(removals, 1, 10_000);
    expect(second!.events.data).toMatchObject({ id: 'kept-alive', reason: 'ttl-expired' });
    expect(await ids()).toEqual(['no-lease']);
    await removals.return!();
  });

  it('two nodes sweeping together remove each lapsed instance exactly once', async () => {
    const client = clients.create(nodes[1]!.url);
    const count = 60;
    await Promise.all(Array.from({ length: count }, (_, i) => client.request(RegisterServiceDocument, { input: instance({ id: `swept-${i}`, ttl: '1s' }) })));
    await eventually(async () => ((await ids()).some((id) => id.startsWith('swept-')) ? undefined : true), 10_000);

    const rows = await database.sql<{ id: string; n: number }[]>`
      select data->>'id' as id, count(*)::int as n
      from events
      where type = 'service.unregistered' and data->>'id' like 'swept-%'
      group by 1`;
    expect(rows).toHaveLength(count);
    expect(rows.every((row) => row.n === 1)).toBe(true);
  });
});
