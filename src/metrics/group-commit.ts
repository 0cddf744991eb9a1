import { Histogram, type Registry } from 'prom-client';
import { BATCH_SIZE_BUCKETS, DURATION_BUCKETS } from './registry.js';

/** Told of every batch a group commit writes: how many items, and how long writing it took. */
export type BatchObserver = (size: number, seconds: number) => void;

/** The group-commit writers' batch sizes and write times, labelled by writer (`registrations`, `heartbeats`, `call_outcomes`, `config`). */
export class GroupCommitMetrics {
  private readonly sizes: Histogram<'writer'>;
  private readonly durations: Histogram<'writer'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.sizes = new Histogram({
      name: 'switchboard_group_commit_batch_size',
      help: 'Items written together in one group-commit transaction, by writer.',
      labelNames: ['writer'],
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    });
    this.durations = new Histogram({
      name: 'switchboard_group_commit_duration_seconds',
      help: 'Time to write one group-commit batch (its transaction, retries included), by writer.',
      labelNames: ['writer'],
      buckets: DURATION_BUCKETS,
      registers,
    });
  }

  observer(writer: string): BatchObserver {
    return (size, seconds) => {
      this.sizes.observe({ writer }, size);
      this.durations.observe({ writer }, seconds);
    };
  }
}
