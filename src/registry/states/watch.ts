import type { Db } from '../../db/client.js';
import type { EventFeed } from '../../events/feed.js';
import { FeedWatch } from '../../events/feed-watch.js';
import type { StoredEvent } from '../../events/types.js';
import type { Catalog } from '../catalog/index.js';
import { STATE_EVENT_TYPES } from './activity.js';
import type { ServiceStateReport } from './model.js';
import { computeServiceStates, nextUntil, statesQuery, type StatesQuery } from './report.js';

/** At most one report per this long, however busy the catalog (a burst of changes becomes one report). */
export const STATES_COALESCE_MS = 250;

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

class StatesStream extends FeedWatch<ServiceStateReport> {
  private lastComputedAt = 0;
  private nextWake: number | undefined;

  constructor(
    private readonly deps: StatesWatchDeps,
    private readonly query: { windowMs: number; prefix: string | null },
  ) {
    super(deps.feed);
  }

  protected async compute(): Promise<{ value: ServiceStateReport; fingerprint: string }> {
    // Read-your-writes: the catalog reflects every event the feed has handed out so far.
    await this.deps.catalog.waitFor(this.position);
    const report = await computeServiceStates(this.deps.db, this.deps.catalog, this.query, this.deps.defaultWindowMs);
    this.lastComputedAt = Date.now();
    const until = nextUntil(report);
    // `until` is on the database's clock; the wait runs on ours: wake that long after now.
    this.nextWake = until === undefined ? undefined : this.lastComputedAt + Math.max(until - report.computedAt.getTime(), 0) + 5;
    return { value: report, fingerprint: JSON.stringify({ counts: report.counts, services: report.services }) };
  }

  protected settle(): Promise<void> {
    return this.pause(this.lastComputedAt + STATES_COALESCE_MS - Date.now());
  }

  protected override wakeAt(): number | undefined {
    return this.nextWake;
  }

  protected concerns(event: StoredEvent): boolean {
    if (!STATE_EVENT_TYPES.includes(event.type)) return false;
    const name = event.data['name'];
    return this.query.prefix === null || (typeof name === 'string' && name.startsWith(this.query.prefix));
  }
}
