import type { EndpointRecord, ServiceRow } from '../../db/schema.js';
import { formatDuration, parseDuration } from '../duration.js';

/** A registered service instance, as the domain hands it out. */
export type ServiceInstance = ServiceRow;
export type Endpoint = EndpointRecord;

export type HealthStatusType = 'PASSING' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';

export interface HealthStatus {
  status: HealthStatusType;
  output: string;
  lastCheck: Date | null;
}

/**
 * Health as far as the catalog knows it: an instance with a TTL is critical once
 * its lease lapses (it is removed by the expiry sweep shortly after); everything
 * else is passing.
 */
export function instanceHealth(instance: ServiceInstance, now: Date = new Date()): HealthStatus {
  const lastCheck = instance.lastHeartbeatAt;
  if (instance.expiresAt && instance.expiresAt.getTime() <= now.getTime()) {
    return { status: 'CRITICAL', output: `TTL expired at ${instance.expiresAt.toISOString()} without a heartbeat.`, lastCheck };
  }
  if (instance.expiresAt) {
    return { status: 'PASSING', output: `TTL lease valid until ${instance.expiresAt.toISOString()}.`, lastCheck };
  }
  return { status: 'PASSING', output: '', lastCheck };
}

const DATE_FIELDS = ['registeredAt', 'updatedAt', 'lastHeartbeatAt', 'expiresAt'] as const;

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
