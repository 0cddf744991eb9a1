import type { Db } from '../../db/client.js';
import type { EventFeed } from '../../events/feed.js';
import type { StoredEvent } from '../../events/types.js';
import type { Catalog } from '../catalog/index.js';
import { STATE_EVENT_TYPES } from './activity.js';
import type { ServiceStateReport } from './model.js';
import { computeServiceStates, nextUntil, statesQuery, type StatesQuery } from './report.js';

/** At most one report per this long, however busy the catalog (a burst of changes becomes one report). */
export const STATES_COALESCE_MS = 250;
/** setTimeout's limit (2^31-1 ms, about 24.8 days): a longer wait re-arms. */
const MAX_TIMER_MS = 2_147_483_647;

export interface StatesWatchDeps {
  db: Db;
  feed: EventFeed;
  catalog: Catalog;
  defaultWindowMs: number;
}

/**
 * The states report now, then a fresh one whenever it differs: after an event that can
 * move a state (a registration, a removal, a health transition, a policy change) or when
 * a service's `until` passes. Reports are at least STATES_COALESCE_MS apart, and one equal
 * to the last sent (computedAt aside) is not sent.
 */
export function watchServiceStates(deps: StatesWatchDeps, query: StatesQuery): AsyncIterableIterator<ServiceStateReport> {
  const checked = statesQuery(query, deps.defaultWindowMs); // bad input fails the subscribe, not the first event
  return new StatesStream(deps, { windowMs: checked.windowMs, prefix: checked.prefix });
}

class StatesStream implements AsyncIterableIterator<ServiceStateReport> {
  private cursor: number;
  private lastSent: string | undefined;
  private lastComputedAt = 0;
  private wakeAt: number | undefined;
  private done = false;
  private stopWaiting: (() => void) | undefined;

  constructor(
    private readonly deps: StatesWatchDeps,
    private readonly query: { windowMs: number; prefix: string | null },
  ) {
    this.cursor = deps.feed.head;
  }

  async next(): Promise<IteratorResult<ServiceStateReport>> {
    try {
      while (!this.done && !this.deps.feed.isClosed) {
        if (this.lastSent !== undefined) {
          await this.waitForChange();
          await this.pause(this.lastComputedAt + STATES_COALESCE_MS - Date.now());
          if (this.done || this.deps.feed.isClosed) break;
        }
        // Read-your-writes: the catalog reflects every event the feed has handed out so far.
        await this.deps.catalog.waitFor(this.cursor);
        const report = await computeServiceStates(this.deps.db, this.deps.catalog, this.query, this.deps.defaultWindowMs);
        this.lastComputedAt = Date.now();
        const until = nextUntil(report);
        // `until` is on the database's clock; the wait runs on ours: wake that long after now.
        this.wakeAt = until === undefined ? undefined : this.lastComputedAt + Math.max(until - report.computedAt.getTime(), 0) + 5;
        const fingerprint = JSON.stringify({ counts: report.counts, services: report.services });
        if (fingerprint === this.lastSent) continue;
        this.lastSent = fingerprint;
        return { done: false, value: report };
      }
    } catch (error) {
      this.finish();
      throw error;
    }
    this.finish();
    return { done: true, value: undefined };
  }

  async return(): Promise<IteratorResult<ServiceStateReport>> {
    this.finish();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ServiceStateReport> {
    return this;
  }

  /** Returns once an event that may move a state is in the feed, or the soonest `until` has come. */
  private async waitForChange(): Promise<void> {
    while (!this.done && !this.deps.feed.isClosed) {
      if (this.consumeEvents()) return;
      if (this.wakeAt !== undefined && Date.now() >= this.wakeAt) return;
      await new Promise<void>((resolve) => {
        const cancel = this.deps.feed.whenEventAfter(this.cursor, resolve);
        const timer = this.wakeAt === undefined ? undefined : setTimeout(resolve, Math.min(this.wakeAt - Date.now(), MAX_TIMER_MS));
        this.stopWaiting = () => {
          cancel();
          clearTimeout(timer);
          resolve();
        };
      });
      this.stopWaiting?.();
      this.stopWaiting = undefined;
    }
  }

  /** Moves the cursor over the feed's new events; true when one of them concerns the watched services. */
  private consumeEvents(): boolean {
    const head = this.deps.feed.head;
    if (head <= this.cursor) return false;
    const events = this.deps.feed.eventsAfter(this.cursor, head - this.cursor);
    this.cursor = head;
    // The window no longer reaches back that far: assume something relevant happened.
    if (events === undefined) return true;
    return events.some((event) => this.concerns(event));
  }

  private concerns(event: StoredEvent): boolean {
    if (!STATE_EVENT_TYPES.includes(event.type)) return false;
    const name = event.data['name'];
    return this.query.prefix === null || (typeof name === 'string' && name.startsWith(this.query.prefix));
  }

  private async pause(ms: number): Promise<void> {
    if (ms <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.stopWaiting = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.stopWaiting = undefined;
  }

  private finish(): void {
    this.done = true;
    this.stopWaiting?.();
  }
}
