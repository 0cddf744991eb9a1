import { createHash } from 'node:crypto';
import type { AlertRuleKindValue, AlertStateValue, WebhookDeliveryStatusValue } from '@switchboard/contracts';
import type { AlertRow, AlertRuleRow, SilenceRow, WebhookDeliveryRow } from '../../db/schema/index.js';

/** A webhook receiver as the API shows it: never its secret. */
export interface WebhookReceiver {
  name: string;
  url: string;
  hasSecret: boolean;
}

export interface AlertRule {
  id: string;
  name: string;
  kind: AlertRuleKindValue;
  service: string | null;
  minPassing: number | null;
  forMs: number | null;
  transitions: number | null;
  windowMs: number | null;
  keyPrefix: string | null;
  environment: string | null;
  eventType: string | null;
  holdMs: number | null;
  states: ('ACTIVE' | 'SCALING' | 'HEALING' | 'DOWN')[] | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  receivers: WebhookReceiver[];
  sinceEventId: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface Alert {
  id: string;
  ruleId: string;
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: AlertStateValue;
  activeSince: Date | null;
  startsAt: Date | null;
  endsAt: Date | null;
  lastEvaluatedAt: Date;
}

export interface Silence {
  id: string;
  ruleId: string | null;
  matchers: Record<string, string>;
  comment: string;
  createdBy: string | null;
  startsAt: Date;
  endsAt: Date;
  createdAt: Date;
}

export interface WebhookDelivery {
  id: string;
  alertId: string | null;
  ruleId: string;
  alertStatus: 'firing' | 'resolved';
  receiver: string;
  url: string;
  status: WebhookDeliveryStatusValue;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: Date;
  createdAt: Date;
  deliveredAt: Date | null;
}

export function toRule(row: AlertRuleRow): AlertRule {
  const { receivers, ...rest } = row;
  return { ...rest, receivers: receivers.map((receiver) => ({ name: receiver.name, url: receiver.url, hasSecret: receiver.secret !== null })) };
}

export function toAlert(row: AlertRow): Alert {
  return { ...row, id: String(row.id) };
}

export function toSilence(row: SilenceRow): Silence {
  return row;
}

export function toDelivery(row: WebhookDeliveryRow): WebhookDelivery {
  return {
    id: String(row.id),
    alertId: row.alertId === null ? null : String(row.alertId),
    ruleId: row.ruleId,
    alertStatus: row.alertStatus,
    receiver: row.receiver,
    url: row.url,
    status: row.status,
    attempts: row.attempts,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    nextAttemptAt: row.nextAttemptAt,
    createdAt: row.createdAt,
    deliveredAt: row.deliveredAt,
  };
}

/** Alertmanager's notion: a stable hash of the sorted label set (16 hex digits). */
export function fingerprintOf(labels: Record<string, string>): string {
  const canonical = Object.keys(labels)
    .sort()
    .map((name) => `${name}\u0000${labels[name]}`)
    .join('\u0001');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** Does a silence cover an alert of `ruleId` with these labels? */
export function silenceMatches(silence: Pick<Silence, 'ruleId' | 'matchers'>, ruleId: string, labels: Record<string, string>): boolean {
  if (silence.ruleId !== null && silence.ruleId !== ruleId) return false;
  return Object.entries(silence.matchers).every(([name, value]) => labels[name] === value);
}
