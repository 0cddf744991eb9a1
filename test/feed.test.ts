import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '../src/db/client.js';
import { appendEvents } from '../src/events/append.js';
import { EventFeed } from '../src/events/feed.js';
import { openEventStream } from '../src/events/subscribe.js';
import { createLogger } from '../src/logger.js';
import { take } from './support/client.js';
import { eventually, withTimeout } from './support/wait.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { tracked, trackOpen } from './support/leaks.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

async function append(count: number, data: (i: number) => Record<string, unknown> = (i) => ({ i })) {
  for (let i = 0; i < count; i++) {
    await database.db.transaction((tx) => appendEvents(tx, [{ type: 'test.feed', source: 'feed-test', data: data(i) }]));
  }
}

describe('the event feed', () => {
  it.each([
    ['by count', { bufferSize: 5 }, (i: number) => ({ i })],
    ['by bytes', { bufferBytes: 2_000 }, (i: number) => ({ i, padding: 'x'.repeat(500) })],
  ])('a subscriber left behind by the in-memory window (%s) continues from the table, missing nothing', async (_label, options, data) => {
    const feed = tracked('feed', 'EventFeed', new EventFeed(database.db, database.sql, createLogger('silent'), options), 'close');
    await feed.start();
    try {
      const start = feed.head;
      const stream = await openEventStream(database.db, feed, { after: start, project: (event) => event.id });
      await append(30, data);
      // Let the feed take all 30 in (and evict most) before the subscriber reads anything.
      await eventually(() => (feed.head >= start + 30 ? true : undefined));
      expect(feed.eventsAfter(start)).toBeUndefined(); // the window no longer reaches back to the cursor

      const ids = await take(stream, 30);
      expect(ids).toEqual(Array.from({ length: 30 }, (_, i) => start + 1 + i));
      await stream.return?.();
    } finally {
      await feed.close();
    }
  });

  it('a catch-up read that fails is retried soon (under 2 s), not at the next safety poll', async () => {
    // The feed has a pool of its own, named so its backends can be found; the safety poll is a minute away.
    const own = connectDatabase(database.url, { applicationName: 'feed-retry' });
    // postgres.js's end() waits out its whole timeout once one of its connections was terminated: keep it short.
    const closeOwn = () => own.close(0.1);
    const ownClosed = trackOpen('database', 'feed-retry pool', closeOwn);
    const feed = tracked('feed', 'EventFeed', new EventFeed(own.db, own.sql, createLogger('silent'), { pollIntervalMs: 60_000 }), 'close');
    await feed.start();
    let resets = 0;
    const stopObserving = feed.observe(
      () => {},
      () => (resets += 1),
    );
    const stream = await openEventStream(database.db, feed, { after: feed.head, project: (event) => event.id });
    const received = stream.next();
    const release = { writer: () => {}, lock: () => {} };
    try {
      // 1. A writer appends an event and holds its transaction open.
      let appended!: (id: number) => void;
      const eventId = new Promise<number>((resolve) => (appended = resolve));
      const writer = database.db.transaction(async (tx) => {
        const [event] = await appendEvents(tx, [{ type: 'test.feed', source: 'feed-test', data: { retried: true } }]);
        appended(event!.id);
        await new Promise<void>((resolve) => (release.writer = resolve));
      });
      const id = await eventId;
      // 2. An exclusive lock on the table queues behind the writer: it is granted at the writer's commit,
      //    before the feed, woken by that commit's NOTIFY, can read.
      let locked!: () => void;
      const lockHeld = new Promise<void>((resolve) => (locked = resolve));
      const locker = database.sql.begin(async (tx) => {
        await tx`lock table events in access exclusive mode`;
        locked();
        await new Promise<void>((resolve) => (release.lock = resolve));
      });
      await eventually(async () => ((await backendsWaitingForALock('switchboard-test')).length > 0 ? true : undefined));
      release.writer();
      await writer;
      await lockHeld;
      // 3. The feed's catch-up read waits for the lock; ending its backend makes the read fail.
      const waiting = await eventually(async () => {
        const pids = await backendsWaitingForALock('feed-retry');
        return pids.length > 0 ? pids : undefined;
      });
      await database.sql`select pg_terminate_backend(pid) from unnest(${waiting}::int[]) as pid`;
      release.lock();
      await locker;
      // 4. No NOTIFY is coming for that event any more: only the feed's own retry finds it.
      const startedAt = Date.now();
      await expect(withTimeout(received, 2_000, 'the event did not arrive within 2 s')).resolves.toEqual({ done: false, value: id });
      expect(Date.now() - startedAt).toBeLessThan(2_000);
      expect(resets).toBe(0); // the LISTEN connection stayed up throughout
    } finally {
      release.writer();
      release.lock();
      stopObserving();
      await stream.return?.();
      await feed.close();
      await closeOwn();
      ownClosed();
    }
  });

  it('ends its subscribers when it closes', async () => {
    const feed = tracked('feed', 'EventFeed', new EventFeed(database.db, database.sql, createLogger('silent')), 'close');
    await feed.start();
    const stream = await openEventStream(database.db, feed, { project: (event) => event.id });
    const next = stream.next();
    await feed.close();
    await expect(next).resolves.toMatchObject({ done: true });
  });
});

/** Backends of `applicationName` in this test's database that are waiting for a lock. */
async function backendsWaitingForALock(applicationName: string): Promise<number[]> {
  const rows = await database.sql<{ pid: number }[]>`
    select pid from pg_stat_activity
    where datname = current_database() and application_name = ${applicationName} and wait_event_type = 'Lock'`;
  return rows.map((row) => row.pid);
}
