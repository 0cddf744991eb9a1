import { formatDuration, parseDuration, type EndpointRecord } from '@switchboard/contracts';
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

/** A value as JSON carries it: dates become ISO strings. */
type Json<T> = T extends Date ? string : T;

/**
 * The instance inside an event's data, with the API's field names and formats
 * (dates as ISO strings, `ttl` as a duration like "30s"). Derived from
 * ServiceInstance, so a new field shows up here with its JSON type.
 */
export type InstanceSnapshot = { [K in Exclude<keyof ServiceInstance, 'ttlMs'>]: Json<ServiceInstance[K]> } & { ttl: string | null };

export function toSnapshot(instance: ServiceInstance): InstanceSnapshot {
  // A row read from the table also carries its session id: a client's secret, which anyone
  // reading events could otherwise use to keep that client's ephemeral instances alive.
  const { ttlMs, sessionId: _secret, ...rest } = instance as ServiceInstance & { sessionId?: unknown };
  const snapshot = JSON.parse(JSON.stringify(rest)) as Omit<InstanceSnapshot, 'ttl'>;
  return { ...snapshot, ttl: ttlMs === null ? null : formatDuration(ttlMs) };
}

/**
 * Rebuilds an instance from an event snapshot, so subscribers see the state as of
 * that event. Every date is named here: a date field added to ServiceInstance and
 * left out stays a string in `rest`, which does not type-check as the instance.
 */
export function fromSnapshot(snapshot: InstanceSnapshot): ServiceInstance {
  const { ttl, registeredAt, updatedAt, lastHeartbeatAt, expiresAt, maintenanceSince, source, ...rest } = snapshot;
  return {
    ...rest,
    // Events written before sources existed lack it: a native instance.
    source: source ?? null,
    ttlMs: typeof ttl === 'string' ? (parseDuration(ttl) ?? null) : null,
    registeredAt: new Date(registeredAt),
    updatedAt: new Date(updatedAt),
    lastHeartbeatAt: dateOrNull(lastHeartbeatAt),
    expiresAt: dateOrNull(expiresAt),
    maintenanceSince: dateOrNull(maintenanceSince),
  };
}

/** Events written before a field existed lack it: it reads as null. */
function dateOrNull(value: string | null | undefined): Date | null {
  return typeof value === 'string' ? new Date(value) : null;
}
