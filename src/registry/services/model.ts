import type { EndpointRecord } from '../../db/schema.js';
import { formatDuration, parseDuration } from '../duration.js';
import { isWorse } from '../health/model.js';
import type { ServiceInstance } from '../instances/model.js';

export type Endpoint = EndpointRecord;

export type HealthStatusType = 'PASSING' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';

export interface HealthStatus {
  status: HealthStatusType;
  output: string;
  lastCheck: Date | null;
  /** Runs of all the instance's checks, and how many of them did not pass. */
  checkCount: number;
  failureCount: number;
}

/** The parts of a health check the instance's health is computed from. */
export interface CheckSummary {
  name: string;
  status: 'PASSING' | 'WARNING' | 'CRITICAL';
  output: string;
  lastCheckAt: Date | null;
  checkCount: number;
  failureCount: number;
}

/**
 * An instance's health, worst first: maintenance, then a lapsed TTL lease, then
 * the worst of its checks (the output names that check). No checks: passing.
 */
export function instanceHealth(instance: ServiceInstance, checks: readonly CheckSummary[] = [], now: Date = new Date()): HealthStatus {
  const lastCheck = latest([instance.lastHeartbeatAt, ...checks.map((check) => check.lastCheckAt)]);
  const checkCount = checks.reduce((sum, check) => sum + check.checkCount, 0);
  const failureCount = checks.reduce((sum, check) => sum + check.failureCount, 0);
  const counts = { lastCheck, checkCount, failureCount };
  if (instance.maintenanceSince) {
    return { status: 'CRITICAL', output: `Maintenance mode${instance.maintenanceReason ? `: ${instance.maintenanceReason}` : '.'}`, ...counts };
  }
  if (instance.expiresAt && instance.expiresAt.getTime() <= now.getTime()) {
    return { status: 'CRITICAL', output: `TTL expired at ${instance.expiresAt.toISOString()} without a heartbeat.`, ...counts };
  }
  const worst = checks.reduce<CheckSummary | undefined>((found, check) => (!found || isWorse(check.status, found.status) ? check : found), undefined);
  if (worst && worst.status !== 'PASSING') return { status: worst.status, output: `${worst.name}: ${worst.output}`, ...counts };
  const lease = instance.expiresAt ? `TTL lease valid until ${instance.expiresAt.toISOString()}.` : '';
  return { status: 'PASSING', output: checks.length ? `All ${checks.length} check(s) passing. ${lease}`.trim() : lease, ...counts };
}

function latest(dates: readonly (Date | null)[]): Date | null {
  return dates.reduce<Date | null>((found, date) => (date && (!found || date > found) ? date : found), null);
}

const DATE_FIELDS = ['registeredAt', 'updatedAt', 'lastHeartbeatAt', 'expiresAt', 'maintenanceSince'] as const;

/**
 * The instance as stored inside an event's data, with the API's field names and
 * formats (dates as ISO strings, `ttl` as a duration like "30s").
 */
export function toSnapshot(instance: ServiceInstance): Record<string, unknown> {
  const { ttlMs, ...rest } = instance;
  const snapshot = JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
  snapshot['ttl'] = ttlMs === null ? null : formatDuration(ttlMs);
  return snapshot;
}

/** Rebuilds an instance from an event snapshot, so subscribers see the state as of that event. */
export function fromSnapshot(snapshot: Record<string, unknown>): ServiceInstance {
  const { ttl, ...instance } = snapshot as Record<string, unknown>;
  instance['ttlMs'] = typeof ttl === 'string' ? (parseDuration(ttl) ?? null) : null;
  for (const field of DATE_FIELDS) {
    const value = instance[field];
    instance[field] = typeof value === 'string' ? new Date(value) : null;
  }
  return instance as unknown as ServiceInstance;
}
