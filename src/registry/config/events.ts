import { ConfigEventType, EVENT_SOURCE, type ConfigEventData } from '@switchboard/contracts';
import type { NewBuiltInEvent } from '../../events/types.js';

export function configChangedEvent(data: ConfigEventData): NewBuiltInEvent<'config.changed'> {
  return { type: ConfigEventType.CHANGED, source: EVENT_SOURCE, data: { ...data } };
}
