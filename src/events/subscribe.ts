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
  const cursor = options.after ?? feed.head;
  if (options.after !== undefined && options.after > feed.head) {
    // The feed may lag a committed event by a moment; only the table can say
    // whether the cursor is genuinely from the future.
    const latest = await latestEventId(db);
    if (options.after > latest) {
      throw badInput(`Event id ${options.after} has not happened yet; the latest is ${latest}.`, { field: 'after' });
    }
  }

  if (options.after !== undefined) await assertResumable(db, options.after);
  return new EventStream(db, feed, cursor, options.filter ?? {}, options.project);
}

/**
 * The pull loop as a plain iterator object. A server holds one per open subscription, thousands of
 * them, so it keeps only its cursor, the values of the batch it is handing out, and at most one
 * wait on the feed (a Repeater or an async generator would add a dozen closures and promises each).
 * `return()` ends it at once, even while it waits for the next event.
 */
class EventStream<T> implements AsyncIterableIterator<T> {
  private ready: T[] = [];
  private taken = 0;
  private done = false;
  /** Ends the current wait on the feed: set only while next() waits there. */
  private stopWaiting: (() => void) | undefined;

  constructor(
    private readonly db: Db,
    private readonly feed: EventFeed,
    private cursor: number,
    private readonly filter: EventFilter,
    private readonly project: (event: StoredEvent) => T | undefined,
  ) {}

  async next(): Promise<IteratorResult<T>> {
    try {
      while (!this.done && !this.feed.isClosed) {
        if (this.taken < this.ready.length) {
          const value = this.ready[this.taken++]!;
          return { done: false, value };
        }
        await this.pull();
      }
    } catch (error) {
      this.finish();
      throw error;
    }
    this.finish();
    return { done: true, value: undefined };
  }

  async return(): Promise<IteratorResult<T>> {
    this.finish();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  /** The next batch after the cursor (maybe empty: none matched), or a wait until there is one. */
  private async pull(): Promise<void> {
    this.ready = [];
    this.taken = 0;
    const fromMemory = this.feed.eventsAfter(this.cursor);
    let batch: StoredEvent[];
    if (fromMemory) {
      batch = fromMemory.filter((event) => matchesFilter(event, this.filter));
      if (fromMemory.length > 0) this.cursor = fromMemory.at(-1)!.id;
    } else {
      const page = await readEvents(this.db, { after: this.cursor, upTo: this.feed.head, limit: REPLAY_PAGE, filter: this.filter });
      // Checked after the read: pruning that committed before it is visible now.
      await assertResumable(this.db, this.cursor);
      batch = page.events;
      this.cursor = page.nextCursor;
    }
    for (const event of batch) {
      const value = this.project(event);
      if (value !== undefined) this.ready.push(value);
    }
    if (batch.length === 0 && this.feed.head <= this.cursor && !this.done) {
      await new Promise<void>((resolve) => {
        const cancel = this.feed.whenEventAfter(this.cursor, resolve);
        this.stopWaiting = () => {
          cancel();
          resolve();
        };
      });
      this.stopWaiting = undefined;
    }
  }

  private finish(): void {
    this.done = true;
    this.ready = [];
    this.stopWaiting?.();
  }
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
