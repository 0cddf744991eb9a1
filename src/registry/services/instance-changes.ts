import { badInput, HealthEventType, ServiceLimits } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import type { EventFeed } from '../../events/feed.js';
import { parseCursor } from '../../events/filter.js';
import { openEventStream } from '../../events/subscribe.js';
import { toHealthChange, type HealthChange } from '../health/changes.js';
import { SERVICE_EVENT_TYPES, toServiceChange, type ServiceChange } from './changes.js';

/** A catalog change or a health transition of one of the watched services' instances. */
export type InstanceChange = ServiceChange | HealthChange;

/** Service names one watch may follow. */
export const MAX_WATCHED_SERVICES = 1_000;

export interface InstancesWatch {
  /** The services to follow (duplicates are ignored). */
  names: readonly string[];
  /** Event id to resume after (as the client sent it); none: live changes only. */
  after?: string | null | undefined;
}

const TYPES = [...SERVICE_EVENT_TYPES, HealthEventType.CHANGED];

/**
 * Registrations, updates, removals and health transitions of the instances of several services, in one
 * stream in event-id order: replayed after `after`, then live. What a client cache of many services
 * follows, on one subscription instead of two per service (each costs the server memory).
 */
export function watchInstanceChanges(db: Db, feed: EventFeed, watch: InstancesWatch): Promise<AsyncIterableIterator<InstanceChange>> {
  const names = watchedNames(watch.names);
  return openEventStream(db, feed, {
    after: parseCursor(watch.after),
    filter: { types: TYPES, dataIn: { field: 'name', values: names } },
    project: (event) => (event.type === HealthEventType.CHANGED ? toHealthChange(event) : toServiceChange(event)),
  });
}

/** Which of the two a change is (for a GraphQL union, say). */
export function isServiceChange(change: InstanceChange): change is ServiceChange {
  return 'kind' in change;
}

function watchedNames(names: readonly string[]): ReadonlySet<string> {
  if (names.length === 0) throw badInput('names must list at least one service name.', { field: 'names' });
  if (names.length > MAX_WATCHED_SERVICES) throw badInput(`names may list at most ${MAX_WATCHED_SERVICES} service names.`, { field: 'names' });
  for (const name of names) {
    if (name.length === 0 || name.length > ServiceLimits.nameLength) {
      throw badInput(`"${name.slice(0, 64)}" is not a service name: names are 1 to ${ServiceLimits.nameLength} characters.`, { field: 'names' });
    }
  }
  return new Set(names);
}
