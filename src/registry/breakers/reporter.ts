import { notFound } from '../../errors.js';
import type { Db } from '../../db/client.js';
import { outsideWrites } from '../../events/actor.js';
import { applyOutcomes } from './store.js';
import type { BreakerConfig, Outcome } from './machine.js';

interface Pending {
  serviceId: string;
  outcome: Outcome;
  resolve: (lastEventId: number) => void;
  reject: (error: unknown) => void;
}

/**
 * Coalesces call-outcome reports: while one batch is being written, new reports
 * queue, and the next batch takes them all (group commit). Quiet: one report, one
 * short transaction. Busy: thousands of reports a second become a handful of
 * transactions. Each caller still learns whether its report landed.
 */
export class OutcomeReporter {
  private queue: Pending[] = [];
  private writing: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly config: BreakerConfig,
  ) {}

  /**
   * Queues a report; resolves once it is written, with the id of the newest event
   * its batch appended (0 if none), so the caller can wait for its own reads to
   * reflect a breaker it just opened.
   */
  report(serviceId: string, outcome: Omit<Outcome, 'at'>): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ serviceId, outcome: { ...outcome, at: Date.now() }, resolve, reject });
      // The batch serves many callers: its events are the registry's, not the first caller's.
      this.writing ??= outsideWrites(() => this.drain());
    });
  }

  /** Resolves when everything reported so far is written. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const outcomes = new Map<string, Outcome[]>();
      for (const entry of batch) {
        const list = outcomes.get(entry.serviceId);
        if (list) list.push(entry.outcome);
        else outcomes.set(entry.serviceId, [entry.outcome]);
      }
      try {
        const { known, lastEventId } = await applyOutcomes(this.db, outcomes, this.config);
        for (const entry of batch) {
          if (known.has(entry.serviceId)) entry.resolve(lastEventId);
          else entry.reject(notFound('Service instance', entry.serviceId));
        }
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    this.writing = undefined;
  }
}
