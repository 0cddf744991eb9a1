import { randomUUID } from 'node:crypto';
import { badInput, EVENT_SOURCE, jsonProblem, ServiceEventType, textFaults } from '@switchboard/contracts';
import type { EventDefinition, EventType, RegistryEvent } from '@switchboard/sdk';
import { decodeInstance, hostPort, parseInstanceKey, toInstance, type InstanceRecord } from './instance-record.js';
import type { FollowedChange, FollowedEntry } from './range-follower.js';

/**
 * Events over etcd. A published event is a key `<eventsPrefix><type>/<uuid>` holding `{type, source, data,
 * timestamp}`, put under a lease shared by the events of a time window, so old events expire by themselves;
 * its id is the revision of that put (ids grow as events are published). Subscribers watch the prefix.
 * `service.registered` and `service.unregistered` are not stored: they are read off the service prefix.
 */

/** As the server's rules for a published event: lower-case dotted words, outside the registry's namespaces. */
const CUSTOM_TYPE = /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9_-]+)+$/;
const RESERVED_PREFIXES = ['service.', 'component.', 'config.', 'health.', 'circuit.', 'token.', 'alert.', 'switchboard.'];
const TYPE_FILTER = /^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;
const LIMITS = { typeLength: 128, sourceLength: 128, dataBytes: 64 * 1024, dataDepth: 32, typeFilters: 50 };

/** The service events derived from the service prefix. */
const DERIVED_TYPES: readonly string[] = [ServiceEventType.REGISTERED, ServiceEventType.UNREGISTERED];

export interface StoredEvent {
  type: string;
  source: string;
  data: Record<string, unknown>;
  timestamp: string;
}

export function eventKey(prefix: string, type: string): string {
  return `${prefix}${type}/${randomUUID()}`;
}

/** Checks an event as the server would before it is written; BAD_USER_INPUT naming each bad field. */
export function validateEvent(event: EventDefinition): StoredEvent {
  const issues: { field: string; message: string }[] = [];
  const type = String(event.type);
  if (type.length > LIMITS.typeLength) issues.push({ field: 'type', message: `must be at most ${LIMITS.typeLength} characters` });
  else if (!CUSTOM_TYPE.test(type)) issues.push({ field: 'type', message: 'must be lower-case dotted words, like "deploy.finished"' });
  else if (RESERVED_PREFIXES.some((prefix) => type.startsWith(prefix))) {
    issues.push({ field: 'type', message: `must not start with a namespace the registry reserves (${RESERVED_PREFIXES.join(' ')})` });
  }
  const source = String(event.source);
  if (source.length === 0) issues.push({ field: 'source', message: 'must not be empty' });
  else if (source.length > LIMITS.sourceLength) issues.push({ field: 'source', message: `must be at most ${LIMITS.sourceLength} characters` });
  else if (textFaults(source, 'none').length > 0) issues.push({ field: 'source', message: 'must be valid Unicode text without control characters' });
  const data = event.data ?? {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) issues.push({ field: 'data', message: 'must be a JSON object' });
  else {
    const problem = jsonProblem(data, { maxBytes: LIMITS.dataBytes, maxDepth: LIMITS.dataDepth });
    if (problem) issues.push({ field: 'data', message: problem });
  }
  if (issues.length > 0) throw badInput(`Invalid event: ${issues.map((issue) => `${issue.field} ${issue.message}`).join('; ')}.`, { issues });
  return { type, source, data: JSON.parse(JSON.stringify(data)) as Record<string, unknown>, timestamp: new Date().toISOString() };
}

/** Exact types ("deploy.finished") and prefixes ending in ".*" ("service.*"), as the server takes them. */
export function validateTypeFilters(eventType: EventType | readonly EventType[]): string[] {
  const types = typeof eventType === 'string' ? [eventType] : [...eventType];
  if (types.length === 0) throw badInput('Name at least one event type to subscribe to.', { field: 'types' });
  if (types.length > LIMITS.typeFilters) throw badInput(`At most ${LIMITS.typeFilters} event types may be filtered on.`, { field: 'types' });
  for (const type of types) {
    const exact = type.endsWith('.*') ? type.slice(0, -2) : type;
    if (type.length > 200 || !TYPE_FILTER.test(exact))
      throw badInput(`"${type.slice(0, 200)}" is not an event type or a prefix like "service.*".`, { field: 'types' });
  }
  return types;
}

export function matchesType(type: string, pattern: string): boolean {
  return pattern.endsWith('.*') ? type.startsWith(pattern.slice(0, -1)) : type === pattern;
}

/** Whether some pattern can match a published (stored) event, and whether some derived service event. */
export function whatToFollow(patterns: readonly string[]): { stored: string[] | 'all' | 'none'; derived: boolean } {
  const derived = DERIVED_TYPES.some((type) => patterns.some((pattern) => matchesType(type, pattern)));
  const storable = patterns.filter((pattern) => !DERIVED_TYPES.includes(pattern));
  if (storable.length === 0) return { stored: 'none', derived };
  // Exact types are followed under their own prefix; a pattern needs the whole event prefix.
  return { stored: storable.some((pattern) => pattern.endsWith('.*')) ? 'all' : storable, derived };
}

/** A published event as a subscriber gets it; undefined (a problem to report) when the value is not one. */
export function decodeEvent(entry: FollowedEntry): RegistryEvent | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(entry.value);
  } catch {
    return 'the value is not JSON';
  }
  const event = parsed as Partial<StoredEvent> | null;
  if (typeof event !== 'object' || event === null || typeof event.type !== 'string' || typeof event.source !== 'string') {
    return 'the value is not an event ({type, source, data, timestamp})';
  }
  const data = typeof event.data === 'object' && event.data !== null && !Array.isArray(event.data) ? event.data : {};
  return { id: String(entry.modRevision), type: event.type, source: event.source, data, timestamp: typeof event.timestamp === 'string' ? event.timestamp : '' };
}

/**
 * The service event a change under the service prefix stands for: a new key is `service.registered` (created),
 * a changed registration (not only its health) `service.registered` again, a deleted key `service.unregistered`
 * (etcd does not say whether it was deleted or its lease expired). Undefined for anything else.
 */
export function serviceEventOf(prefix: string, change: FollowedChange): RegistryEvent | undefined {
  const key = parseInstanceKey(prefix, change.key);
  if (!key) return undefined;
  const decode = (entry: FollowedEntry | undefined) => {
    const decoded = entry && decodeInstance(key, entry.value);
    return decoded?.ok ? decoded.value : undefined;
  };
  const before = decode(change.before);
  const after = decode(change.after);
  if (after && before && after.updatedAt === before.updatedAt) return undefined;
  const record = after ?? before;
  if (!record) return undefined;
  const data = { ...serviceData(record), ...(after ? { created: !before } : { reason: 'deregistered' }) };
  return {
    id: String(change.revision),
    type: after ? ServiceEventType.REGISTERED : ServiceEventType.UNREGISTERED,
    source: EVENT_SOURCE,
    data,
    timestamp: after ? after.updatedAt : new Date().toISOString(),
  };
}

function serviceData(record: InstanceRecord): Record<string, unknown> {
  return {
    id: record.id,
    name: record.name,
    service_id: record.id,
    service_name: record.name,
    address: hostPort(record.address, record.port),
    instance: toInstance(record),
  };
}
