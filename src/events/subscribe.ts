import { Repeater } from '@repeaterjs/repeater';
import { badInput } from '@switchboard/contracts';
import type { Db } from '../db/client.js';
import type { EventFeed } from './feed.js';
import { matchesFilter, parseCursor, validateTypeFilters, type EventFilter } from './filter.js';
import { assertResumable, latestEventId, readEvents } from './read.js';
import type { StoredEvent } from './types.js';

export interface EventStreamOptions<T> {
  /** Replay every event after this id first; undefined means live events only. */
  after?: number | undefined;
  filter?: EventFilter | undefined;
  /** Turns a matching event into what the subscriber receives; undefined skips it. */
  project: (event: StoredEvent) => T | undefined;
}

const REPLAY_PAGE = 500;

/**
 * Every matching event after a cursor, then live ones, exactly once and in commit
 * order.
 *
 * One loop serves both phases: the subscriber keeps a cursor and pulls whatever
 * lies after it, from the feed's in-memory window when it reaches back that far,
 * else from the table (bounded by the feed's head, which is fully committed).
 * There is no hand-over moment between "replay" and "live" where an event could
 * fall through or arrive twice, and a slow subscriber costs memory in nobody's
 * buffer: it just reads from further back.
 */
export async function openEventStream<T>(db: Db, feed: EventFeed, options: EventStreamOptions<T>): Promise<AsyncIterableIterator<T>> {
  const filter = options.filter ?? {};
  let cursor = options.after ?? feed.head;
  if (options.after !== undefined && options.after > feed.head) {
    // The feed may lag a committed event by a moment; only the table can say
    // whether the cursor is genuinely from the future.
    const latest = await latestEventId(db);
    if (options.after > latest) {
      throw badInput(`Event id ${options.after} has not happened yet; the latest is ${latest}.`, { field: 'after' });
    }
  }

  if (options.after !== undefined) await assertResumable(db, options.after);

  return new Repeater<T>(async (push, stop) => {
    const stopped = new AbortController();
    void stop.then(() => stopped.abort());

    while (!stopped.signal.aborted && !feed.isClosed) {
      const fromMemory = feed.eventsAfter(cursor);
      let batch: StoredEvent[];
      if (fromMemory) {
        batch = fromMemory.filter((event) => matchesFilter(event, filter));
        if (fromMemory.length > 0) cursor = fromMemory.at(-1)!.id;
      } else {
        const page = await readEvents(db, { after: cursor, upTo: feed.head, limit: REPLAY_PAGE, filter });
        // Checked after the read: pruning that committed before it is visible now.
        await assertResumable(db, cursor);
        batch = page.events;
        cursor = page.nextCursor;
      }
      for (const event of batch) {
        const value = options.project(event);
        if (value === undefined) continue;
        await push(value);
        if (stopped.signal.aborted) return;
      }
      if (batch.length === 0 && feed.head <= cursor) {
        await feed.waitForEventAfter(cursor, stopped.signal);
      }
    }
    stop();
  });
}

export interface EventsWatch {
  types?: readonly string[] | null | undefined;
  after?: string | null | undefined;
}

/** The raw log as a stream, for the `events` subscription. */
export function watchEvents(db: Db, feed: EventFeed, watch: EventsWatch): Promise<AsyncIterableIterator<StoredEvent>> {
  return openEventStream(db, feed, {
    after: parseCursor(watch.after),
    filter: { types: validateTypeFilters(watch.types) },
    project: (event) => event,
  });
}
