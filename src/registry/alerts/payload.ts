import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Alert } from './model.js';

/** Alertmanager writes this for "not ended yet". */
const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface AlertmanagerAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** Alertmanager's webhook body (version 4), so receivers written for it take ours unchanged. */
export interface AlertmanagerPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: AlertmanagerAlert[];
}

/** One notification per transition: a group of one alert, keyed by its rule and fingerprint. */
export function alertmanagerPayload(
  rule: { id: string; name: string },
  alert: Alert,
  status: 'firing' | 'resolved',
  receiver: string,
  externalUrl: string,
): AlertmanagerPayload {
  return {
    version: '4',
    groupKey: `{}:{alertname=${JSON.stringify(rule.name)},rule=${JSON.stringify(rule.id)},fingerprint=${JSON.stringify(alert.fingerprint)}}`,
    truncatedAlerts: 0,
    status,
    receiver,
    groupLabels: { alertname: rule.name },
    commonLabels: alert.labels,
    commonAnnotations: alert.annotations,
    externalURL: externalUrl,
    alerts: [
      {
        status,
        labels: alert.labels,
        annotations: alert.annotations,
        startsAt: (alert.startsAt ?? new Date()).toISOString(),
        endsAt: status === 'resolved' && alert.endsAt ? alert.endsAt.toISOString() : ZERO_TIME,
        generatorURL: `${externalUrl}/graphql`,
        fingerprint: alert.fingerprint,
      },
    ],
  };
}

/** The headers a delivery carries; the signature covers `${timestamp}.${body}`, so a replayed body with a new timestamp fails. */
export const SIGNATURE_HEADER = 'x-switchboard-signature';
export const TIMESTAMP_HEADER = 'x-switchboard-timestamp';
export const DELIVERY_HEADER = 'x-switchboard-delivery';

/** HMAC-SHA256 over "<unix seconds>.<raw body>", hex, prefixed "sha256=". */
export function signPayload(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does: recompute and compare in constant time, and refuse old timestamps. */
export function verifySignature(secret: string, timestamp: string, body: string, signature: string, toleranceSeconds = 300): boolean {
  const seconds = Number(timestamp);
  if (!Number.isInteger(seconds) || Math.abs(Date.now() / 1000 - seconds) > toleranceSeconds) return false;
  const expected = Buffer.from(signPayload(secret, seconds, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
