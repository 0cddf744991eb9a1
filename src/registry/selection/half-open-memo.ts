import { LRUCache } from 'lru-cache';

/** How long a busy half-open instance is skipped at most (shorter when the cooldown is). */
export const HALF_OPEN_BUSY_MS = 1_000;

/** Instances remembered at most; the least recently marked go first. */
export const HALF_OPEN_MEMO_MAX = 10_000;

/**
 * Half-open instances this process recently found to have no probe left to give.
 *
 * Granting a probe locks the breaker's row (the budget is shared by every server),
 * so without this memo every selection that drew a busy half-open instance would
 * run a transaction and queue on that row lock behind the other servers. While an
 * instance is remembered here, selection skips it without asking the database.
 *
 * Bounded in size and age (lru-cache): one entry per half-open instance ever drawn
 * would otherwise grow without end on a long-running server.
 */
export class HalfOpenMemo {
  private readonly busy: LRUCache<string, true>;

  constructor(options: { max?: number } = {}) {
    this.busy = new LRUCache<string, true>({ max: options.max ?? HALF_OPEN_MEMO_MAX, ttl: HALF_OPEN_BUSY_MS });
  }

  /** True while the instance is remembered as having no probe to give. */
  isBusy(serviceId: string): boolean {
    return this.busy.has(serviceId);
  }

  /** Remembers that the instance had no probe to give, for `forMs` (at most HALF_OPEN_BUSY_MS). */
  markBusy(serviceId: string, forMs: number): void {
    this.busy.set(serviceId, true, { ttl: Math.max(1, Math.min(forMs, HALF_OPEN_BUSY_MS)) });
  }

  /** Entries held (expired ones may linger until touched or evicted). */
  get size(): number {
    return this.busy.size;
  }
}
