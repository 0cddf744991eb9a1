import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegisterServiceDocument } from '@switchboard/client';
import { clientFactory, instance } from './support/client.js';
import { eventually } from './support/wait.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startTestNode, startTestWorker } from './support/nodes.js';
import { startHttpTarget } from './support/targets.js';

let database: TestDatabase;
let target: Awaited<ReturnType<typeof startHttpTarget>>;
const clients = clientFactory();

beforeAll(async () => {
  database = await createTestDatabase();
  target = await startHttpTarget();
});

afterAll(async () => {
  await clients.closeAll();
  await target?.close();
  await database?.drop();
});

const holder = async (checkId: string) =>
  (await database.sql<{ locked_by: string | null }[]>`select locked_by from health_checks where id = ${checkId}`)[0]?.locked_by ?? null;

describe('health check claims', () => {
  it('a worker that stops hands its claims back: another takes the check at once, not after the claim lapses', async () => {
    // A target that never answers keeps the probe in flight, and so the claim held:
    // 20 s timeout + 2 s grace, were it not released.
    target.answer('/hangs', { status: 200, delayMs: 120_000 });
    const first = await startTestNode(database.url, { SWITCHBOARD_NODE_NAME: 'first' });
    let second: Awaited<ReturnType<typeof startTestWorker>> | undefined;
    try {
      await clients.create(first.url).request(RegisterServiceDocument, {
        input: instance({ id: 'claimed-1', healthCheck: { http: target.url('/hangs'), interval: '1s', timeout: '20s' } }),
      });
      const [{ id: checkId }] = await database.sql<[{ id: string }]>`select id from health_checks where service_id = 'claimed-1'`;
      await eventually(() => (target.hits('/hangs').length === 1 ? true : undefined));
      expect(await holder(checkId)).toMatch(/^first\//);

      // The second worker starts while the first holds the claim, so it cannot have the check yet.
      second = await startTestWorker(database.url, { SWITCHBOARD_NODE_NAME: 'second' });
      await first.stop();
      const stoppedAt = Date.now();
      await eventually(() => (target.hits('/hangs').length === 2 ? true : undefined), 5_000);
      expect(target.hits('/hangs')[1]! - stoppedAt).toBeLessThan(3_000);
      expect(await holder(checkId)).toMatch(/^second\//);
    } finally {
      await first.stop();
      await second?.stop();
    }
  });
});
