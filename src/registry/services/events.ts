import { EVENT_SOURCE, ServiceEventType, type RemovalReason } from '@switchboard/contracts';
import type { NewBuiltInEvent } from '../../events/types.js';
import { hostPort } from '../../net.js';
import type { ServiceInstance } from '../instances/model.js';
import { toSnapshot } from './model.js';

/**
 * Events carry the instance as it was at that moment, so a subscriber replaying
 * history sees each state, not today's. `id` and `name` sit at the top level so
 * readers can filter without opening the snapshot; `service_id`, `service_name`
 * and `address` are the same facts under the keys the seed's handlers read
 * (`event.Data["service_id"]`).
 */
export function registeredEvent(instance: ServiceInstance, created: boolean): NewBuiltInEvent<'service.registered'> {
  return {
    type: ServiceEventType.REGISTERED,
    source: EVENT_SOURCE,
    data: { id: instance.id, name: instance.name, ...seedKeys(instance), created, instance: toSnapshot(instance) },
  };
}

export function unregisteredEvent(instance: ServiceInstance, reason: RemovalReason): NewBuiltInEvent<'service.unregistered'> {
  return {
    type: ServiceEventType.UNREGISTERED,
    source: EVENT_SOURCE,
    data: { id: instance.id, name: instance.name, ...seedKeys(instance), reason, instance: toSnapshot(instance) },
  };
}

function seedKeys(instance: ServiceInstance) {
  return { service_id: instance.id, service_name: instance.name, address: hostPort(instance.address, instance.port) };
}
