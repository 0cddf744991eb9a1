import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegisterServiceDocument } from '@switchboard/client';
import { clientFactory, instance } from './support/client.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { spawnNode, type NodeProcess } from './support/nodes.js';
import { startHttpTarget } from './support/targets.js';
import { eventually, sleep } from './support/wait.js';

/** The health-check pool spread over two server processes on one database. */
let database: TestDatabase;
let a: NodeProcess;
let b: NodeProcess;
let target: Awaited<ReturnType<typeof startHttpTarget>>;
const clients = clientFactory();
const CHECKS = 40;

/**
 * A short claim grace (the default is 2 s): a killed process's claims lapse at the probe timeout plus
 * this, so the takeover comes within a test.
 */
const CLAIM_GRACE = '200ms';

beforeAll(async () => {
  database = await createTestDatabase();
  target = await startHttpTarget();
  const env = { DATABASE_URL: database.url, SWITCHBOARD_HEALTH_CLAIM_GRACE: CLAIM_GRACE };
  [a, b] = await Promise.all([spawnNode(env), spawnNode(env)]);
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

/** Waits until every check has at least `runs` hits at or after `from`. */
async function untilEachRan(runs: number, from: number, timeoutMs: number): Promise<void> {
  await eventually(() => (hitsBetween(from, Infinity).every((hits) => hits.length >= runs) ? true : undefined), timeoutMs);
}

describe('health checks across two processes', () => {
  it("each check runs once per interval, none twice, none starved; a killed process's checks are taken over", async () => {
    const client = clients.create(a.url);
    for (let i = 0; i < CHECKS; i++) {
      // Each probe is in flight for a while (its claim held), so the kill below can catch A holding claims.
      target.answer(path(i), { status: 200, body: 'ok', delayMs: 200 });
      await client.request(RegisterServiceDocument, {
        input: instance({ id: `pooled-${i}`, name: 'pooled', healthCheck: { http: target.url(path(i)), interval: '1s', timeout: '1s' } }),
      });
    }

    // The staggered first runs have happened once every check has run.
    await untilEachRan(1, 0, 30_000);
    const owners = new Set<string>();
    const sampling = setInterval(() => {
      void database.sql<{ locked_by: string }[]>`select distinct locked_by from health_checks where locked_by is not null`.then(
        (rows) => {
          for (const row of rows) owners.add(row.locked_by.split('/')[0]!);
        },
        () => {},
      );
    }, 50);
    let start: number;
    let end: number;
    try {
      start = Date.now();
      // The subject is a rate: how many runs six seconds of one-second intervals hold.
      await sleep(6_000);
      end = Date.now();
    } finally {
      clearInterval(sampling);
    }

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

    // Kill one, while it holds claims (probes in flight), without a chance to hand anything back; its claims
    // lapse (timeout + claim grace) and B takes its checks over: every check runs again.
    const heldByA = async () =>
      (await database.sql<{ n: number }[]>`select count(*)::int as n from health_checks where locked_by like ${`%-${a.child.pid}/%`}`)[0]!.n;
    await eventually(async () => ((await heldByA()) > 0 ? true : undefined), 10_000, 10);
    a.child.kill('SIGKILL');
    await a.stop();
    const killedAt = Date.now();
    await untilEachRan(1, killedAt, 30_000);
    // Each check's first run after the kill: B has taken it over.
    const takenOver = hitsBetween(killedAt, Infinity).map((hits) => hits[0]!);
    // Taken over within the timeout, the grace and an interval, with room for a loaded machine.
    expect(Math.max(...takenOver) - killedAt).toBeLessThan(6_000);
    // From then on, every check runs at its interval: at least 3 runs in the 4 s from its takeover
    // (decided as soon as each has had them, or when the 4 s are over).
    const afterTakeover = () => takenOver.map((at, i) => target.hits(path(i)).filter((hit) => hit >= at && hit < at + 4_000));
    await eventually(() => (Date.now() >= Math.max(...takenOver) + 4_000 || afterTakeover().every((hits) => hits.length >= 3) ? true : undefined), 30_000);
    for (const [i, hits] of afterTakeover().entries()) {
      expect(hits.length, `check ${i} after the kill`).toBeGreaterThanOrEqual(3);
    }
  }, 60_000);
});
