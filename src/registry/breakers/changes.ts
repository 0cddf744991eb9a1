import { CircuitEventType } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import type { EventFeed } from '../../events/feed.js';
import type { StoredEvent } from '../../events/types.js';
import { watchInstanceEvents, type ServiceWatch } from '../instances/watch.js';
import type { CircuitState } from './machine.js';

/** A breaker transition as subscribers see it. */
export interface CircuitChange {
  eventId: number;
  serviceId: string;
  name: string;
  previousState: CircuitState;
  state: CircuitState;
  calls: number;
  failures: number;
  timestamp: Date;
}

export function toCircuitChange(event: StoredEvent): CircuitChange {
  const data = event.data as { id: string; name: string; from: CircuitState; to: CircuitState; calls: number; failures: number };
  return {
    eventId: event.id,
    serviceId: data.id,
    name: data.name,
    previousState: data.from,
    state: data.to,
    calls: data.calls,
    failures: data.failures,
    timestamp: event.createdAt,
  };
}

/** Breaker transitions of one service's instances (or all): replayed after `after`, then live. */
export function watchCircuitChanges(db: Db, feed: EventFeed, watch: ServiceWatch): Promise<AsyncIterableIterator<CircuitChange>> {
  return watchInstanceEvents(db, feed, Object.values(CircuitEventType), watch, toCircuitChange);
}
