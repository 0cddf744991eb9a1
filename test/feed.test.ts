import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEvents } from '../src/events/append.js';
import { EventFeed } from '../src/events/feed.js';
import { openEventStream } from '../src/events/subscribe.js';
import { createLogger } from '../src/logger.js';
import { eventually, take } from './support/client.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { tracked } from './support/leaks.js';

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

  it('ends its subscribers when it closes', async () => {
    const feed = tracked('feed', 'EventFeed', new EventFeed(database.db, database.sql, createLogger('silent')), 'close');
    await feed.start();
    const stream = await openEventStream(database.db, feed, { project: (event) => event.id });
    const next = stream.next();
    await feed.close();
    await expect(next).resolves.toMatchObject({ done: true });
  });
});
