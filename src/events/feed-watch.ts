import type { EventFeed } from './feed.js';
import type { StoredEvent } from './types.js';

/** setTimeout's limit (2^31-1 ms, about 24.8 days): a longer wait re-arms. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * A value computed from the registry's state, sent now and then again whenever it would differ: the shape
 * of the service-states and flow-composition subscriptions. After the first value it sleeps until the
 * feed hands out an event the watch `concerns` (or until `wakeAt`, for a value that changes with time),
 * lets a burst settle (`settle`), recomputes, and sends only when the fingerprint moved.
 *
 * Subclasses say what concerns them and how to compute; the cursor, the waits and their cancellation on
 * `return()` live here once.
 */
export abstract class FeedWatch<T> implements AsyncIterableIterator<T> {
  protected done = false;
  private cursor: number;
  private lastSent: string | undefined;
  private stopWaiting: (() => void) | undefined;

  constructor(protected readonly feed: EventFeed) {
    this.cursor = feed.head;
  }

  /** Whether `event` may change the value. */
  protected abstract concerns(event: StoredEvent): boolean;

  /** The value now and what identifies it (equal fingerprints: nothing to send). */
  protected abstract compute(first: boolean): Promise<{ value: T; fingerprint: string }>;

  /** Waits after a change before recomputing, so that a burst of changes becomes one value. */
  protected abstract settle(): Promise<void>;

  /** When the value changes with time alone (a state's `until`): wake then, too. */
  protected wakeAt(): number | undefined {
    return undefined;
  }

  /** Called once, when the watch ends. */
  protected onFinish(): void {}

  /** The event id the watch has read up to: what it computes must reflect at least this much. */
  protected get position(): number {
    return this.cursor;
  }

  async next(): Promise<IteratorResult<T>> {
    try {
      while (!this.done && !this.feed.isClosed) {
        const first = this.lastSent === undefined;
        if (!first) {
          await this.waitForChange();
          await this.settle();
          if (this.done || this.feed.isClosed) break;
        }
        const { value, fingerprint } = await this.compute(first);
        if (this.done) break;
        if (fingerprint === this.lastSent) continue;
        this.lastSent = fingerprint;
        return { done: false, value };
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

  /** Moves the cursor over the feed's new events; true when one of them concerns this watch. */
  protected consumeEvents(): boolean {
    const head = this.feed.head;
    if (head <= this.cursor) return false;
    const events = this.feed.eventsAfter(this.cursor, head - this.cursor);
    this.cursor = head;
    // The window no longer reaches back that far: assume something relevant happened.
    if (events === undefined) return true;
    return events.some((event) => this.concerns(event));
  }

  /** Sleeps `ms`, cut short when the watch ends. */
  protected async pause(ms: number): Promise<void> {
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

  /** Returns once an event that concerns this watch is in the feed, or `wakeAt` has come. */
  private async waitForChange(): Promise<void> {
    while (!this.done && !this.feed.isClosed) {
      if (this.consumeEvents()) return;
      const wakeAt = this.wakeAt();
      if (wakeAt !== undefined && Date.now() >= wakeAt) return;
      await new Promise<void>((resolve) => {
        const cancel = this.feed.whenEventAfter(this.cursor, resolve);
        const timer = wakeAt === undefined ? undefined : setTimeout(resolve, Math.min(wakeAt - Date.now(), MAX_TIMER_MS));
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

  private finish(): void {
    if (!this.done) this.onFinish();
    this.done = true;
    this.stopWaiting?.();
  }
}
