import type { StoredEvent } from '../../events/types.js';
import { ServiceEventType } from './events.js';
import { fromSnapshot, type ServiceInstance } from './model.js';

export type ServiceChangeKind = 'REGISTERED' | 'UPDATED' | 'DEREGISTERED' | 'EXPIRED';

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

export const SERVICE_EVENT_TYPES = [ServiceEventType.REGISTERED, ServiceEventType.UNREGISTERED];

export function toServiceChange(event: StoredEvent): ServiceChange {
  const data = event.data as { id: string; name: string; created?: boolean; reason?: string; instance: Record<string, unknown> };
  const removed = event.type === ServiceEventType.UNREGISTERED;
  const kind: ServiceChangeKind = removed
    ? data.reason === 'ttl-expired'
      ? 'EXPIRED'
      : 'DEREGISTERED'
    : data.created
      ? 'REGISTERED'
      : 'UPDATED';
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
