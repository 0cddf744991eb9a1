import { ServiceEventType } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import type { EventFeed } from '../../events/feed.js';
import { parseCursor } from '../../events/filter.js';
import { openEventStream } from '../../events/subscribe.js';
import type { StoredEvent } from '../../events/types.js';
import { fromSnapshot, type InstanceSnapshot, type ServiceInstance } from './model.js';

export type ServiceChangeKind = 'REGISTERED' | 'UPDATED' | 'DEREGISTERED' | 'EXPIRED' | 'REAPED';

/** A catalog event, read back as what happened to which instance. */
export interface ServiceChange {
  eventId: number;
  kind: ServiceChangeKind;
  serviceId: string;
  name: string;
  /** The instance as of this change; for removals, its last state. */
  instance: ServiceInstance;
  reason: string | null;
  timestamp: Date;
}

const REMOVAL_KINDS: Record<string, ServiceChangeKind> = {
  deregistered: 'DEREGISTERED',
  'ttl-expired': 'EXPIRED',
  'critical-too-long': 'REAPED',
};

export const SERVICE_EVENT_TYPES = [ServiceEventType.REGISTERED, ServiceEventType.UNREGISTERED];

export function toServiceChange(event: StoredEvent): ServiceChange {
  const data = event.data as { id: string; name: string; created?: boolean; reason?: string; instance: InstanceSnapshot };
  const removed = event.type === ServiceEventType.UNREGISTERED;
  const kind: ServiceChangeKind = removed ? REMOVAL_KINDS[data.reason ?? ''] ?? 'DEREGISTERED' : data.created ? 'REGISTERED' : 'UPDATED';
  return {
    eventId: event.id,
    kind,
    serviceId: data.id,
    name: data.name,
    instance: fromSnapshot(data.instance),
    reason: data.reason ?? null,
    timestamp: event.createdAt,
  };
}

export interface ServiceWatch {
  /** One service name, or every service when absent. */
  name?: string | null | undefined;
  /** Event id to resume after (as the client sent it). */
  after?: string | null | undefined;
}

/**
 * Events of `types` about one service's instances (or every service), as `project` reads them:
 * replayed after `after`, then live. Serves the catalog, health and breaker subscriptions, whose
 * events all carry the instance's service `name`.
 */
export function watchInstanceEvents<T>(
  db: Db,
  feed: EventFeed,
  types: readonly string[],
  watch: ServiceWatch,
  project: (event: StoredEvent) => T,
): Promise<AsyncIterableIterator<T>> {
  return openEventStream(db, feed, {
    after: parseCursor(watch.after),
    filter: { types, dataContains: watch.name ? { name: watch.name } : undefined },
    project,
  });
}

/** Catalog changes as a stream: replayed after `after`, then live. */
export function watchServiceChanges(db: Db, feed: EventFeed, watch: ServiceWatch): Promise<AsyncIterableIterator<ServiceChange>> {
  return watchInstanceEvents(db, feed, SERVICE_EVENT_TYPES, watch, toServiceChange);
}
