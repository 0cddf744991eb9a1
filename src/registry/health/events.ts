import type { NewEvent } from '../../events/types.js';
import { EVENT_SOURCE } from '../event-source.js';
import type { CheckStatus } from './model.js';

export const HealthEventType = {
  CHANGED: 'service.health.changed',
} as const;

export interface HealthEventData {
  /** The instance. */
  id: string;
  name: string;
  /** Null when maintenance was switched. */
  checkId: string | null;
  checkName: string | null;
  /** The check's status before and after (null: the check did not exist / was removed). */
  from: CheckStatus | null;
  to: CheckStatus | null;
  output: string;
  /** The instance's status as discovery sees it, before and after. */
  instanceFrom: CheckStatus;
  instanceTo: CheckStatus;
  /** The instance's stored state after the change (what in-memory catalogs apply). */
  checkStatus: CheckStatus;
  maintenance: { reason: string | null; since: string } | null;
}

export function healthChangedEvent(data: HealthEventData): NewEvent {
  // service_id / service_name: the seed's keys, as on service.registered.
  return { type: HealthEventType.CHANGED, source: EVENT_SOURCE, data: { ...data, service_id: data.id, service_name: data.name } };
}
