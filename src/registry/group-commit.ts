import { handOffWrite } from '../db/cancellation.js';
import { outsideRequest } from '../request-signal.js';
import { outsideWrites } from '../events/actor.js';

/** A queued item and how to answer the caller who submitted it. */
export interface Queued<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit. While one batch is being written, new items queue; the next batch
 * takes them (all, or what `take` picks) in one write. Quiet: one item, one short
 * transaction. Busy: the per-transaction costs (BEGIN, COMMIT, the event-append
 * lock, the NOTIFY) are paid once per batch instead of once per item.
 *
 * `write` answers every item of its batch, so each caller learns its own outcome;
 * should it throw, the items it left unanswered fail with its error.
 */
export class GroupCommit<T, R> {
  private queue: Queued<T, R>[] = [];
  private writing: Promise<void> | undefined;

  constructor(
    private readonly write: (batch: Queued<T, R>[]) => Promise<void>,
    private readonly take: (queue: Queued<T, R>[]) => Queued<T, R>[] = (queue) => queue.splice(0),
    /** Told each batch's size and how long writing it took, in seconds (metrics). */
    private readonly observe?: (size: number, seconds: number) => void,
  ) {}

  /** Queues an item; settles once its batch is written. */
  submit(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      // Refused for an abandoned request; else its deadline answer says "unknown" (src/db/cancellation.ts).
      handOffWrite();
      this.queue.push({ item, resolve, reject });
      // The batch serves many callers: it runs in none of their write contexts, nor under
      // the signal of whichever request started it (each entry carries its own, if it needs one).
      this.writing ??= outsideRequest(() => outsideWrites(() => this.drain()));
    });
  }

  /** Resolves when everything submitted so far is written. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.take(this.queue);
      const started = performance.now();
      try {
        await this.write(batch);
      } catch (error) {
        for (const entry of batch) entry.reject(error); // no effect on those already answered
      }
      this.observe?.(batch.length, (performance.now() - started) / 1000);
    }
    this.writing = undefined;
  }
}
