import { ServiceEventType } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import type { EventFeed } from '../../events/feed.js';
import type { StoredEvent } from '../../events/types.js';
import type { ServiceInstance } from '../instances/model.js';
import { watchInstanceEvents, type ServiceWatch } from '../instances/watch.js';
import { fromSnapshot, type InstanceSnapshot } from './model.js';

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
  /** Why, in words, when a reason code says too little: a source's removals ("source etcd-prod unreachable for 1m"). */
  detail: string | null;
  timestamp: Date;
}

const REMOVAL_KINDS: Record<string, ServiceChangeKind> = {
  deregistered: 'DEREGISTERED',
  'ttl-expired': 'EXPIRED',
  'connection-lost': 'EXPIRED',
  'critical-too-long': 'REAPED',
};

export const SERVICE_EVENT_TYPES = [ServiceEventType.REGISTERED, ServiceEventType.UNREGISTERED];

export function toServiceChange(event: StoredEvent): ServiceChange {
  const data = event.data as { id: string; name: string; created?: boolean; reason?: string; detail?: string; instance: InstanceSnapshot };
  const removed = event.type === ServiceEventType.UNREGISTERED;
  const kind: ServiceChangeKind = removed ? (REMOVAL_KINDS[data.reason ?? ''] ?? 'DEREGISTERED') : data.created ? 'REGISTERED' : 'UPDATED';
  return {
    eventId: event.id,
    kind,
    serviceId: data.id,
    name: data.name,
    instance: fromSnapshot(data.instance),
    reason: data.reason ?? null,
    detail: data.detail ?? null,
    timestamp: event.createdAt,
  };
}

/** Catalog changes as a stream: replayed after `after`, then live. */
export function watchServiceChanges(db: Db, feed: EventFeed, watch: ServiceWatch): Promise<AsyncIterableIterator<ServiceChange>> {
  return watchInstanceEvents(db, feed, SERVICE_EVENT_TYPES, watch, toServiceChange);
}
