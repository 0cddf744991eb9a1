import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegisterServiceDocument } from '@switchboard/client';
import { clientFactory, instance } from './support/client.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { spawnNode, type NodeProcess } from './support/nodes.js';
import { startHttpTarget } from './support/targets.js';

/** The health-check pool spread over two server processes on one database. */
let database: TestDatabase;
let a: NodeProcess;
let b: NodeProcess;
let target: Awaited<ReturnType<typeof startHttpTarget>>;
const clients = clientFactory();
const CHECKS = 40;

beforeAll(async () => {
  database = await createTestDatabase();
  target = await startHttpTarget();
  [a, b] = await Promise.all([spawnNode({ DATABASE_URL: database.url }), spawnNode({ DATABASE_URL: database.url })]);
});

afterAll(async () => {
  await clients.closeAll();
  await Promise.all([a?.stop(), b?.stop()]);
  await target?.close();
  await database?.drop();
});

const path = (i: number) => `/pool-${i}`;

/** Hits on each check's path between two instants. */
function hitsBetween(from: number, to: number): number[][] {
  return Array.from({ length: CHECKS }, (_, i) => target.hits(path(i)).filter((at) => at >= from && at < to));
}

describe('health checks across two processes', () => {
  it("each check runs once per interval, none twice, none starved; a killed process's checks are taken over", async () => {
    const client = clients.create(a.url);
    for (let i = 0; i < CHECKS; i++) {
      await client.request(RegisterServiceDocument, {
        input: instance({ id: `pooled-${i}`, name: 'pooled', healthCheck: { http: target.url(path(i)), interval: '1s', timeout: '1s' } }),
      });
    }

    // Let the staggered first runs happen, then watch for six seconds.
    await sleep(2_000);
    const owners = new Set<string>();
    const sampling = setInterval(() => {
      void database.sql<{ locked_by: string }[]>`select distinct locked_by from health_checks where locked_by is not null`.then((rows) => {
        for (const row of rows) owners.add(row.locked_by.split('/')[0]!);
      });
    }, 50);
    const start = Date.now();
    await sleep(6_000);
    const end = Date.now();
    clearInterval(sampling);

    const windowSeconds = (end - start) / 1000;
    for (const [i, hits] of hitsBetween(start, end).entries()) {
      // Once per one-second interval: as many runs as seconds in the window, give or
      // take the edges and a late run on a busy machine. Never more (that would be a
      // check run twice in one slot), never far fewer (that would be starvation).
      expect(hits.length, `check ${i}: ${hits.length} runs in ${windowSeconds}s`).toBeGreaterThanOrEqual(Math.floor(windowSeconds) - 2);
      expect(hits.length, `check ${i}: ${hits.length} runs in ${windowSeconds}s`).toBeLessThanOrEqual(Math.ceil(windowSeconds) + 1);
      // Two workers running one check would hit the target within milliseconds of each other.
      const gaps = hits.slice(1).map((at, n) => at - hits[n]!);
      expect(Math.min(...gaps), `check ${i} ran twice at once`).toBeGreaterThan(250);
    }
    // Both processes took part.
    expect(owners.size).toBe(2);

    // Kill one without a chance to hand anything back; its leases lapse (timeout + 2 s grace).
    a.child.kill('SIGKILL');
    await a.stop();
    await sleep(4_000);
    const afterKill = Date.now();
    await sleep(4_000);
    for (const [i, hits] of hitsBetween(afterKill, Date.now()).entries()) {
      expect(hits.length, `check ${i} after the kill`).toBeGreaterThanOrEqual(3);
    }
  }, 60_000);
});
