import { notFound } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import { GroupCommit, type Queued } from '../group-commit.js';
import type { Principal } from '../access/principal.js';
import { applyOutcomes, type ReportedOutcome } from './store.js';
import type { BreakerConfig, Outcome } from './machine.js';

interface Report {
  serviceId: string;
  outcome: ReportedOutcome;
}

/**
 * Coalesces call-outcome reports (group commit): thousands of reports a second
 * become a handful of transactions. Each caller still learns whether its report landed.
 */
export class OutcomeReporter {
  private readonly batches: GroupCommit<Report, number>;

  constructor(
    private readonly db: Db,
    private readonly config: BreakerConfig,
    /** Told each batch's size and write time (metrics). */
    observeBatch?: (size: number, seconds: number) => void,
  ) {
    this.batches = new GroupCommit((batch) => this.write(batch), undefined, observeBatch);
  }

  /**
   * Queues a report; resolves once it is written, with the id of the newest event
   * its batch appended (0 if none), so the caller can wait for its own reads to
   * reflect a breaker it just opened.
   */
  report(serviceId: string, outcome: Omit<Outcome, 'at'>, principal: Principal): Promise<number> {
    return this.batches.submit({ serviceId, outcome: { ...outcome, at: Date.now(), principal } });
  }

  /** Resolves when everything reported so far is written. */
  flush(): Promise<void> {
    return this.batches.flush();
  }

  private async write(batch: readonly Queued<Report, number>[]): Promise<void> {
    const outcomes = new Map<string, ReportedOutcome[]>();
    for (const { item } of batch) {
      const list = outcomes.get(item.serviceId);
      if (list) list.push(item.outcome);
      else outcomes.set(item.serviceId, [item.outcome]);
    }
    const { known, refused, lastEventId } = await applyOutcomes(this.db, outcomes, this.config);
    for (const entry of batch) {
      const refusal = refused.get(entry.item.outcome);
      if (refusal) entry.reject(refusal);
      else if (known.has(entry.item.serviceId)) entry.resolve(lastEventId);
      else entry.reject(notFound('Service instance', entry.item.serviceId));
    }
  }
}
