import type { Db } from '../../db/client.js';
import type { EventFeed } from '../../events/feed.js';
import { parseCursor } from '../../events/filter.js';
import { openEventStream } from '../../events/subscribe.js';
import type { StoredEvent } from '../../events/types.js';
import { HealthEventType, type HealthEventData } from './events.js';

/** A health transition as subscribers see it. */
export interface HealthChange extends HealthEventData {
  eventId: number;
  timestamp: Date;
}

export function toHealthChange(event: StoredEvent): HealthChange {
  return { ...(event.data as unknown as HealthEventData), eventId: event.id, timestamp: event.createdAt };
}

export interface HealthWatch {
  name?: string | null | undefined;
  after?: string | null | undefined;
}

/** Health transitions of one service's instances (or all), replayed after `after`, then live. */
export function watchHealthChanges(db: Db, feed: EventFeed, watch: HealthWatch): Promise<AsyncIterableIterator<HealthChange>> {
  return openEventStream(db, feed, {
    after: parseCursor(watch.after),
    filter: { types: [HealthEventType.CHANGED], dataContains: watch.name ? { name: watch.name } : undefined },
    project: toHealthChange,
  });
}
