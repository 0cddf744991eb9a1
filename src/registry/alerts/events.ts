import { AlertEventType, EVENT_SOURCE } from '@switchboard/contracts';
import type { NewBuiltInEvent } from '../../events/types.js';
import type { Alert } from './model.js';

/** `alert.firing` / `alert.resolved`, carrying what a webhook payload says of the alert. */
export function alertEvent(
  rule: { id: string; name: string; kind: string },
  alert: Alert,
  status: 'firing' | 'resolved',
  silenced: boolean,
): NewBuiltInEvent<'alert.firing' | 'alert.resolved'> {
  return {
    type: status === 'firing' ? AlertEventType.FIRING : AlertEventType.RESOLVED,
    source: EVENT_SOURCE,
    data: {
      alertId: alert.id,
      ruleId: rule.id,
      ruleName: rule.name,
      kind: rule.kind,
      status,
      fingerprint: alert.fingerprint,
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: (alert.startsAt ?? new Date()).toISOString(),
      endsAt: alert.endsAt?.toISOString() ?? null,
      silenced,
    },
  };
}
