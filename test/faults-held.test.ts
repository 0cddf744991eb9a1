import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LatestEventIdDocument,
  OnEventsDocument,
  PublishEventDocument,
  RegisterServiceDocument,
  SwitchboardRequestError,
  type OnEventsSubscription,
  type SwitchboardClient,
} from '@switchboard/client';
import { clientFactory, instance, take } from './support/client.js';
import { eventually } from './support/wait.js';
import { eventsAfter, expectAscending, IN_FLIGHT, spawnWorker, watchEvents, type LoggedEvent, type WorkerProcess } from './support/concurrency.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { spawnNode, type NodeProcess } from './support/nodes.js';
import { startHttpTarget } from './support/targets.js';

/**
 * What must hold through faults, each scaled to run in seconds: a subscriber cut and
 * resumed during a write load, a server killed with SIGKILL mid-load, a health worker
 * killed mid-run. Two `switchboard serve` processes share one database; the faults hit
 * extra processes started for them.
 */
let database: TestDatabase;
let nodes: NodeProcess[] = [];
const extra: { stop(signal?: NodeJS.Signals): Promise<unknown> }[] = [];
const clients = clientFactory();
let env: Record<string, string>;

beforeAll(async () => {
  database = await createTestDatabase();
  // The health pool runs only in the worker processes the last test starts. Thousands of writes on a
  // shared, loaded machine: one slow but correct must not be cut off by the request deadline.
  env = { DATABASE_URL: database.url, SWITCHBOARD_HEALTH_WORKER: 'false', SWITCHBOARD_REQUEST_TIMEOUT: '60s' };
  nodes = await Promise.all([spawnNode(env), spawnNode(env)]);
}, 60_000);

afterAll(async () => {
  await clients.closeAll();
  await Promise.all([...nodes, ...extra].map((process) => process.stop('SIGKILL')));
  await database?.drop();
});

/** One write: a registration (group-committed) or a custom event; either way its event names `write`. */
function writeOne(client: SwitchboardClient, write: string, i: number): Promise<unknown> {
  if (i % 2 === 0) return client.request(RegisterServiceDocument, { input: instance({ id: write, name: 'loaded' }) });
  return client.request(PublishEventDocument, { input: { type: 'load.tick', source: 'faults', data: { write } } });
}

const writeOf = (event: LoggedEvent) => String(event.data['id'] ?? event.data['write']);

/**
 * Runs `count` writes, IN_FLIGHT at a time, spread over `targets`. Returns which were
 * acknowledged and which failed; a write whose connection died is "unknown" (it may or
 * may not have committed).
 */
async function load(count: number, targets: () => SwitchboardClient[], prefix: string, onAck?: (acked: number) => void) {
  const acked: string[] = [];
  const unknown: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) {
        const i = next++;
        const write = `${prefix}-${i}`;
        const choices = targets();
        try {
          await writeOne(choices[i % choices.length]!, write, i);
          acked.push(write);
          onAck?.(acked.length);
        } catch (error) {
          // A GraphQL error is an answer: nothing but success is expected under this load.
          if (error instanceof SwitchboardRequestError) throw error;
          unknown.push(write);
        }
      }
    }),
  );
  return { acked, unknown };
}

describe('faults a write load must survive', () => {
  it('a subscriber cut and resumed 7 times, alternating servers, sees every event exactly once, in id order', async () => {
    const writersOn = nodes.map((node) => clients.create(node.url));
    const { latestEventId: start } = await writersOn[0]!.request(LatestEventIdDocument);
    const total = 2_000;
    const writing = load(total, () => writersOn, 'resumed');

    const received: LoggedEvent[] = [];
    const keep = ({ events }: OnEventsSubscription) => {
      received.push({ id: events.id, type: events.type, data: events.data as Record<string, unknown> });
    };
    let cursor = start;
    for (let cut = 0; cut < 7; cut++) {
      // A connection of its own per segment: closing it cuts the subscription mid-stream.
      const subscriber = clients.create(nodes[cut % 2]!.url);
      (await take(subscriber.subscribe(OnEventsDocument, { after: cursor }), total / 8, 30_000)).forEach(keep);
      cursor = received.at(-1)!.id;
      await subscriber.close();
    }
    const { acked, unknown } = await writing;
    expect(unknown).toEqual([]);
    const log = await eventsAfter(writersOn[1]!, start);
    // The last segment reads up to the end of the log, however many events that takes.
    const last = clients.create(nodes[1]!.url).subscribe(OnEventsDocument, { after: cursor });
    while (Number(received.at(-1)!.id) < Number(log.at(-1)!.id)) (await take(last, 1, 10_000)).forEach(keep);
    await last.return!();

    expectAscending(received);
    expect(received.map((event) => event.id)).toEqual(log.map((event) => event.id));
    expect(received.map(writeOf).sort()).toEqual([...acked].sort());
  }, 120_000);

  it('kill -9 of one of two servers mid-load: every acknowledged write has exactly one event, nothing acknowledged is lost', async () => {
    const victim = await spawnNode(env);
    extra.push(victim);
    const survivor = clients.create(nodes[0]!.url);
    const onVictim = clients.create(victim.url);
    const { latestEventId: start } = await survivor.request(LatestEventIdDocument);
    const watcher = watchEvents(clients.create(nodes[1]!.url), start);

    const total = 2_000;
    let killedAt: number | undefined;
    const { acked, unknown } = await load(
      total,
      () => [survivor, onVictim],
      'killed',
      (count) => {
        if (count === 600 && killedAt === undefined) {
          killedAt = Date.now();
          victim.child.kill('SIGKILL');
        }
      },
    );
    expect(await victim.stop()).toBeNull(); // it died of the signal
    // The kill landed mid-load: writes in flight on the victim got no answer.
    expect(unknown.length).toBeGreaterThan(0);
    expect(acked.length).toBeGreaterThan(total / 2);

    const log = await eventsAfter(survivor, start);
    expectAscending(log);
    const perWrite = new Map<string, number>();
    for (const event of log) perWrite.set(writeOf(event), (perWrite.get(writeOf(event)) ?? 0) + 1);
    // Acknowledged: exactly one event. In flight when the server died: at most one (committed or not).
    for (const write of acked) expect(perWrite.get(write), write).toBe(1);
    for (const write of unknown) expect(perWrite.get(write) ?? 0, write).toBeLessThanOrEqual(1);
    expect([...perWrite.keys()].every((write) => acked.includes(write) || unknown.includes(write))).toBe(true);
    // Registrations acknowledged are rows, whichever server answered.
    const registered = acked.filter((write) => Number(write.split('-').at(-1)) % 2 === 0);
    const rows = await database.sql<{ id: string }[]>`select id from services where id = any(${registered})`;
    expect(rows.length).toBe(registered.length);
    // A subscriber on the other server saw the log as it is.
    await watcher.expectToMatch(log);
    await watcher.stop();
  }, 120_000);

  it('a health worker killed mid-run: its checks are taken over by the other worker within the lease', async () => {
    const target = await startHttpTarget();
    const workers: WorkerProcess[] = [];
    try {
      const CHECKS = 20;
      const CLAIM_GRACE_MS = 300;
      const path = (i: number) => `/held-${i}`;
      // A short claim grace (SWITCHBOARD_HEALTH_CLAIM_GRACE): a dead worker's claims lapse soon after the probe timeout.
      const workerEnv = { DATABASE_URL: database.url, SWITCHBOARD_HEALTH_CLAIM_GRACE: `${CLAIM_GRACE_MS}ms` };
      workers.push(...(await Promise.all(['doomed', 'survivor'].map((name) => spawnWorker({ ...workerEnv, SWITCHBOARD_NODE_NAME: name })))));
      const client = clients.create(nodes[0]!.url);
      for (let i = 0; i < CHECKS; i++) {
        await client.request(RegisterServiceDocument, {
          input: instance({ id: `held-${i}`, name: 'held', healthChecks: [{ http: target.url(path(i)), interval: '1s', timeout: '1s' }] }),
        });
      }

      // Both workers hold leases; take a snapshot of the doomed one's, then kill it.
      const doomedClaims = await eventually(
        async () => {
          const rows = await database.sql<
            { service_id: string; locked_by: string }[]
          >`select service_id, locked_by from health_checks where locked_by is not null`;
          const doomed = rows.filter((row) => row.locked_by.startsWith('doomed/'));
          return doomed.length > 0 && rows.some((row) => row.locked_by.startsWith('survivor/')) ? doomed : undefined;
        },
        15_000,
        20,
      );
      workers[0]!.child.kill('SIGKILL');
      const killedAt = Date.now();
      expect(await workers[0]!.stop()).toBeNull();

      // The claim is the probe timeout (1s) plus the grace; the survivor looks for due checks at
      // least every second. So each check runs again within about 2.3s, never left for good.
      const CLAIM_MS = 1_000 + CLAIM_GRACE_MS;
      const takeover = CLAIM_MS + 1_000 + 1_500; // lease, the survivor's idle poll, a loaded machine
      const gapsAfterKill = () =>
        Array.from({ length: CHECKS }, (_, i) => {
          const after = target.hits(path(i)).filter((at) => at > killedAt + 100);
          return after.length === 0 ? Infinity : after[0]! - killedAt;
        });
      // Until every check ran again, or the bound passed without it (the assertion says which).
      await eventually(() => (gapsAfterKill().every(Number.isFinite) || Date.now() - killedAt > takeover ? true : undefined), takeover + 10_000);
      const gaps = gapsAfterKill();
      expect(Math.max(...gaps), `first run after the kill, per check: ${gaps.join(', ')} ms`).toBeLessThanOrEqual(takeover);
      // Among them, the ones the killed worker held when it died.
      expect(doomedClaims.map((row) => row.service_id).every((id) => id.startsWith('held-'))).toBe(true);

      // From then on the survivor runs every check, once a second.
      const from = Date.now();
      const runsSince = (i: number) => target.hits(path(i)).filter((at) => at >= from).length;
      // Until every check ran twice, or 3 s passed without it (the assertion says which).
      await eventually(
        () => (Array.from({ length: CHECKS }, (_, i) => runsSince(i)).every((runs) => runs >= 2) || Date.now() - from > 3_000 ? true : undefined),
        13_000,
      );
      for (let i = 0; i < CHECKS; i++) expect(runsSince(i), `check ${i}`).toBeGreaterThanOrEqual(2);
      const owners = await database.sql<{ locked_by: string }[]>`select distinct locked_by from health_checks where locked_by is not null`;
      expect(owners.every((row) => row.locked_by.startsWith('survivor/'))).toBe(true);
    } finally {
      await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
      await target.close();
    }
  }, 120_000);
});
