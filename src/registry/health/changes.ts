import { HealthEventType, type HealthEventData } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import type { EventFeed } from '../../events/feed.js';
import type { StoredEvent } from '../../events/types.js';
import { watchInstanceEvents, type ServiceWatch } from '../instances/watch.js';

/** A health transition as subscribers see it. */
export interface HealthChange extends HealthEventData {
  eventId: number;
  timestamp: Date;
}

export function toHealthChange(event: StoredEvent): HealthChange {
  return { ...(event.data as unknown as HealthEventData), eventId: event.id, timestamp: event.createdAt };
}

/** Health transitions of one service's instances (or all), replayed after `after`, then live. */
export function watchHealthChanges(db: Db, feed: EventFeed, watch: ServiceWatch): Promise<AsyncIterableIterator<HealthChange>> {
  return watchInstanceEvents(db, feed, [HealthEventType.CHANGED], watch, toHealthChange);
}
