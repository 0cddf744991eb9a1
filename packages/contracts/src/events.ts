import type { ComponentTypeValue } from './values.js';

/**
 * The built-in events: their type names and what each one's `data` holds, as the registry
 * writes it. Events are stored as they were written, so a field added here is absent from
 * older events (marked optional where that is already the case).
 */

/** The `source` of every event the registry writes itself. */
export const EVENT_SOURCE = 'switchboard';

export const ServiceEventType = {
  REGISTERED: 'service.registered',
  UNREGISTERED: 'service.unregistered',
} as const satisfies Record<string, BuiltInEventType>;

export const HealthEventType = {
  CHANGED: 'service.health.changed',
} as const satisfies Record<string, BuiltInEventType>;

export const ConfigEventType = {
  CHANGED: 'config.changed',
} as const satisfies Record<string, BuiltInEventType>;

export const ComponentEventType = {
  REGISTERED: 'component.registered',
  UNREGISTERED: 'component.unregistered',
} as const satisfies Record<string, BuiltInEventType>;

export const CircuitEventType = {
  OPENED: 'circuit.opened',
  HALF_OPENED: 'circuit.half_opened',
  CLOSED: 'circuit.closed',
} as const satisfies Record<string, BuiltInEventType>;

export const PolicyEventType = {
  CHANGED: 'service.policy.changed',
} as const satisfies Record<string, BuiltInEventType>;

export const TokenEventType = {
  CREATED: 'token.created',
  REVOKED: 'token.revoked',
} as const satisfies Record<string, BuiltInEventType>;

type CheckStatus = 'PASSING' | 'WARNING' | 'CRITICAL';
type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/** Why an instance left the catalog. */
export type RemovalReason = 'deregistered' | 'ttl-expired' | 'connection-lost' | 'critical-too-long';

/**
 * An instance as it was at the event, with the API's field names and formats (dates as
 * ISO strings, `ttl` as a duration like "30s"), so a subscriber replaying history sees
 * each state, not today's.
 */
export type ServiceSnapshot = Record<string, unknown>;

/** A component as it was at the event (dates as ISO strings). */
export type ComponentSnapshot = Record<string, unknown>;

/**
 * `id` and `name` sit at the top level so readers can filter without opening the snapshot;
 * `service_id`, `service_name` and `address` ("host:port") are the same facts under the keys
 * the seed's handlers read (`event.Data["service_id"]`).
 */
export type ServiceEventData = {
  id: string;
  name: string;
  service_id: string;
  service_name: string;
  address: string;
  instance: ServiceSnapshot;
};

export type ServiceRegisteredData = ServiceEventData & {
  /** False when an existing registration was updated. */
  created: boolean;
};

export type ServiceUnregisteredData = ServiceEventData & {
  reason: RemovalReason;
  /** For `critical-too-long`: the check that stayed critical (`criticalSince` as ISO-8601). */
  check?: { id: string; name: string; criticalSince: string };
};

export type HealthEventData = {
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
};

/** service_id / service_name: the seed's keys, as on service.registered. */
export type HealthChangedData = HealthEventData & { service_id: string; service_name: string };

/**
 * What a `config.changed` event carries. Besides the entry's own old and new value
 * it records the context a watcher of some environment needs to compute the
 * effective value, as of the commit: for an environment's entry, the global value
 * it falls back to; for the global entry, which environments override it.
 */
export type ConfigEventData = {
  key: string;
  /** null: the global entry changed. */
  environment: string | null;
  version: number;
  deleted: boolean;
  /** null when the entry had no value before (new, or previously deleted). */
  oldValue: unknown;
  /** null when the entry was deleted. */
  newValue: unknown;
  /** For an environment's entry: the global value at that moment (null if none). */
  globalValue?: unknown;
  /**
   * For an environment's entry: the global entry's version at that moment (null if
   * none), so a deletion that falls back to it names the version a read then shows.
   * Absent from events written before it was recorded.
   */
  globalVersion?: number | null;
  /** For the global entry: environments with a value of their own, which do not see this change. */
  overriddenIn?: string[];
  /** The entry is secret: its values are not in the event. */
  secret?: true;
  /** The global value this environment falls back to is secret (so not in `globalValue`). */
  globalSecret?: true;
};

export type ComponentEventData = {
  id: string;
  name: string;
  version: string;
  type: ComponentTypeValue;
  component: ComponentSnapshot;
};

export type ComponentRegisteredData = ComponentEventData & {
  /** False when an existing component was updated. */
  created: boolean;
};

export type CircuitEventData = {
  /** The instance. */
  id: string;
  name: string;
  from: CircuitState;
  to: CircuitState;
  /** Calls and failures in the breaker's rolling window after the transition. */
  calls: number;
  failures: number;
  openedAt: string | null;
};

/** A token's public facts; never its secret. */
export type TokenEventData = {
  id: string;
  name: string;
  scopes: ('READ' | 'WRITE' | 'ADMIN')[];
  servicePrefix: string | null;
  keyPrefix: string | null;
  expiresAt: string | null;
};

/** A service's scaling policy as set (both bounds null when it was deleted). */
export type ServicePolicyEventData = {
  /** The service name (`name`, as on the other service events, so readers filter alike). */
  name: string;
  minInstances: number | null;
  maxInstances: number | null;
  deleted: boolean;
  /** The policy before, or null when there was none. */
  previous: { minInstances: number | null; maxInstances: number | null } | null;
};

/** Each built-in event type's `data`. Events published by clients carry any JSON object. */
export interface EventDataMap {
  'service.registered': ServiceRegisteredData;
  'service.unregistered': ServiceUnregisteredData;
  'service.health.changed': HealthChangedData;
  'config.changed': ConfigEventData;
  'component.registered': ComponentRegisteredData;
  'component.unregistered': ComponentEventData;
  'circuit.opened': CircuitEventData;
  'circuit.half_opened': CircuitEventData;
  'circuit.closed': CircuitEventData;
  'service.policy.changed': ServicePolicyEventData;
  'token.created': TokenEventData;
  'token.revoked': TokenEventData;
}

export type BuiltInEventType = keyof EventDataMap;
