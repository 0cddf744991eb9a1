import type postgres from 'postgres';
import { toError } from '@switchboard/contracts';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import { latestEventId, readEvents } from './read.js';
import { EVENTS_CHANNEL, type StoredEvent } from './types.js';

export interface EventFeedOptions {
  /** Recent events kept in memory, so live subscribers never query the database. */
  bufferSize?: number;
  /** …and at most about this many bytes of them (events carry config values, which can be large). */
  bufferBytes?: number;
  /** Safety-net poll, in case a notification is lost; LISTEN is the fast path. */
  pollIntervalMs?: number;
}

const CATCH_UP_BATCH = 1000;
/** After a failed read, the next try: soon, so subscribers hear of writes made just after PostgreSQL is back. */
const CATCH_UP_RETRY_MS = 250;

/**
 * This process's view of the event log: one LISTEN connection, and an in-memory
 * window of the most recent events.
 *
 * A NOTIFY only says "something was appended". The feed then reads every event
 * after the last one it holds, so it never skips one, whether notifications were
 * coalesced, arrived late, or were lost while the LISTEN connection reconnected.
 * Because ids are commit-ordered (append.ts), "id > head" is complete.
 */
export class EventFeed {
  /** Highest event id this process has read. Every event up to it is committed. */
  head = 0;
  /** The window holds every event with id in (windowStart, head]. */
  private windowStart = 0;
  private window: StoredEvent[] = [];
  private windowSizes: number[] = [];
  private windowBytes = 0;
  private waiters = new Set<() => void>();
  private readonly observers = new Set<(events: readonly StoredEvent[]) => void>();
  private readonly resetObservers = new Set<() => void>();
  private listens = 0;
  private catchingUp: Promise<void> | undefined;
  private catchUpAgain = false;
  private listener: { unlisten(): Promise<void> } | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failing = false;
  private closed = false;
  private readonly bufferSize: number;
  private readonly bufferBytes: number;
  private readonly pollIntervalMs: number;

  constructor(
    private readonly db: Db,
    private readonly sql: postgres.Sql,
    private readonly log: Logger,
    options: EventFeedOptions = {},
  ) {
    this.bufferSize = options.bufferSize ?? 10_000;
    this.bufferBytes = options.bufferBytes ?? 64 * 1024 * 1024;
    this.pollIntervalMs = options.pollIntervalMs ?? 5_000;
  }

  async start(): Promise<void> {
    this.head = await latestEventId(this.db);
    this.windowStart = this.head;
    // postgres.js reconnects the LISTEN connection by itself and calls the
    // onlisten callback again each time; catching up there covers the outage.
    this.listener = await this.sql.listen(
      EVENTS_CHANNEL,
      () => this.requestCatchUp(),
      () => {
        // Called on every (re)connect; after the first, the connection was down for a while.
        if (this.listens++ > 0) for (const observer of this.resetObservers) observer();
        void this.requestCatchUp();
      },
    );
    this.pollTimer = setInterval(() => this.requestCatchUp(), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  /** Ends every waiting subscriber and stops listening. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.retryTimer);
    this.wakeAll();
    // Not awaited: with the database away, UNLISTEN would wait for it; closing the pool ends the connection anyway.
    void this.listener?.unlisten().catch(() => {});
    await this.catchingUp;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Events after `cursor` from memory, oldest first, at most `limit`; undefined when
   * the window no longer reaches back that far (the caller reads the table instead).
   */
  eventsAfter(cursor: number, limit = 500): StoredEvent[] | undefined {
    if (cursor < this.windowStart) return undefined;
    let low = 0;
    let high = this.window.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.window[mid]!.id <= cursor) low = mid + 1;
      else high = mid;
    }
    return this.window.slice(low, low + limit);
  }

  /**
   * Calls `observer` with every batch of new events this process reads, in order;
   * `onReset` when the LISTEN connection came back after a drop.
   */
  observe(observer: (events: readonly StoredEvent[]) => void, onReset?: () => void): () => void {
    this.observers.add(observer);
    if (onReset) this.resetObservers.add(onReset);
    return () => {
      this.observers.delete(observer);
      if (onReset) this.resetObservers.delete(onReset);
    };
  }

  /**
   * Calls `wake` once an event newer than `cursor` is known or the feed closes (at once if one already is);
   * returns a function that cancels the wait. A callback, not a promise with an AbortSignal: every open
   * subscription waits here, and an AbortController with its listeners costs about a kilobyte each.
   */
  whenEventAfter(cursor: number, wake: () => void): () => void {
    if (this.head > cursor || this.closed) {
      wake();
      return () => {};
    }
    const once = () => {
      this.waiters.delete(once);
      wake();
    };
    this.waiters.add(once);
    return () => this.waiters.delete(once);
  }

  /** Reads whatever was appended since `head`. Concurrent requests coalesce into one read. */
  requestCatchUp(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return this.catchingUp;
    }
    this.catchingUp = this.catchUp().finally(() => {
      this.catchingUp = undefined;
      if (this.catchUpAgain) {
        this.catchUpAgain = false;
        void this.requestCatchUp();
      }
    });
    return this.catchingUp;
  }

  private async catchUp(): Promise<void> {
    try {
      while (!this.closed) {
        const { events } = await readEvents(this.db, { after: this.head, limit: CATCH_UP_BATCH });
        if (this.failing) this.log.info('event feed reads new events again');
        this.failing = false;
        if (events.length === 0) return;
        this.accept(events);
        if (events.length < CATCH_UP_BATCH) return;
      }
    } catch (error) {
      // Retry soon rather than at the next poll: after an outage, nothing else may notify us (the
      // NOTIFY of a write made while LISTEN was reconnecting is lost). One warning per outage.
      if (!this.failing) this.log.warn({ err: toError(error) }, 'event feed could not read new events; retrying');
      this.failing = true;
      clearTimeout(this.retryTimer);
      if (!this.closed) this.retryTimer = setTimeout(() => void this.requestCatchUp(), CATCH_UP_RETRY_MS).unref();
    }
  }

  private accept(events: StoredEvent[]): void {
    for (const event of events) {
      const size = JSON.stringify(event.data).length + 200; // data plus the row's other fields, roughly
      this.window.push(event);
      this.windowSizes.push(size);
      this.windowBytes += size;
    }
    this.head = events.at(-1)!.id;
    let excess = Math.max(0, this.window.length - this.bufferSize);
    let bytes = this.windowBytes;
    for (let i = 0; i < excess; i++) bytes -= this.windowSizes[i]!;
    while (bytes > this.bufferBytes && excess < this.window.length - 1) bytes -= this.windowSizes[excess++]!;
    if (excess > 0) {
      // Subscribers behind the new start read from the table instead.
      this.windowStart = this.window[excess - 1]!.id;
      this.window.splice(0, excess);
      this.windowSizes.splice(0, excess);
      this.windowBytes = bytes;
    }
    for (const observer of this.observers) {
      try {
        observer(events);
      } catch (error) {
        this.log.warn({ err: toError(error) }, 'event observer failed');
      }
    }
    this.wakeAll();
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }
}
