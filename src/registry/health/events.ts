import { EVENT_SOURCE, HealthEventType, type HealthEventData } from '@switchboard/contracts';
import type { NewBuiltInEvent } from '../../events/types.js';

export function healthChangedEvent(data: HealthEventData): NewBuiltInEvent<'service.health.changed'> {
  // service_id / service_name: the seed's keys, as on service.registered.
  return { type: HealthEventType.CHANGED, source: EVENT_SOURCE, data: { ...data, service_id: data.id, service_name: data.name } };
}
