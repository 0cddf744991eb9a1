import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/** Stored shape of one documented endpoint of a service instance. */
export interface EndpointRecord {
  path: string;
  method: string;
  description: string | null;
  parameters: EndpointParameterRecord[];
  responses: EndpointResponseRecord[];
}

export interface EndpointParameterRecord {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie' | 'body';
  type: string;
  required: boolean;
  description: string | null;
}

export interface EndpointResponseRecord {
  status: number;
  description: string | null;
  schema: unknown;
}

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const services = pgTable(
  'services',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /** Null: registered without one; such an instance matches no version range. */
    version: text('version'),
    address: text('address').notNull(),
    /** Null: registered without one; discovery still returns it, its caller decides the port. */
    port: integer('port'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    endpoints: jsonb('endpoints').$type<EndpointRecord[]>().notNull().default([]),
    protocols: text('protocols').array().notNull().default(sql`'{}'::text[]`),
    weight: integer('weight').notNull().default(1),
    priority: integer('priority').notNull().default(0),
    /** Lease length; an instance with a TTL expires unless heartbeats renew it. */
    ttlMs: integer('ttl_ms'),
    registeredAt: timestamptz('registered_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
    lastHeartbeatAt: timestamptz('last_heartbeat_at'),
    expiresAt: timestamptz('expires_at'),
    /** Worst status of the instance's health checks (PASSING with none), kept current on every transition. */
    checkStatus: text('check_status').$type<CheckStatusValue>().notNull().default('PASSING'),
    /** Maintenance takes the instance out of passing discovery without deregistering it. */
    maintenanceReason: text('maintenance_reason'),
    maintenanceSince: timestamptz('maintenance_since'),
  },
  (t) => [
    index('services_name_idx').on(t.name),
    index('services_tags_idx').using('gin', t.tags),
    // Only leased instances are ever swept, so only they are indexed.
    index('services_expires_at_idx').on(t.expiresAt).where(sql`expires_at is not null`),
  ],
);

/**
 * The change log. Ids are handed out in commit order (see src/events/append.ts),
 * so "every event after id N" is a complete, gap-free answer.
 */
export const events = pgTable(
  'events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    type: text('type').notNull(),
    source: text('source').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    /** Who caused it (token id and name); null for the registry's own work (sweeps, health checks). */
    actor: jsonb('actor').$type<EventActor>(),
    // clock_timestamp(), not now(): appends are serialized, so this stays monotonic with the id.
    createdAt: timestamptz('created_at').notNull().default(sql`clock_timestamp()`),
  },
  (t) => [
    index('events_type_id_idx').on(t.type, t.id),
    // Retention finds the oldest event still young enough to keep.
    index('events_created_at_idx').on(t.createdAt),
  ],
);

export interface EventActor {
  id: string;
  name: string;
}

export type ServiceRow = typeof services.$inferSelect;
export type EventRow = typeof events.$inferSelect;

/** Framework components (steps, transformers, …). Several versions of one name coexist under different ids. */
export const components = pgTable(
  'components',
  {
    id: text('id').primaryKey(),
    type: text('type').$type<ComponentTypeValue>().notNull(),
    name: text('name').notNull(),
    version: text('version').notNull(),
    description: text('description'),
    /** Declared dependencies, in declaration order. */
    dependencies: jsonb('dependencies').$type<ComponentDependencyRecord[]>().notNull().default([]),
    /** The names in `dependencies`, indexed for the reverse ("who depends on X") lookup. */
    dependencyNames: text('dependency_names').array().notNull().default(sql`'{}'::text[]`),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    registeredAt: timestamptz('registered_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('components_name_idx').on(t.name),
    index('components_type_idx').on(t.type),
    index('components_dependency_names_idx').using('gin', t.dependencyNames),
    check('components_type_check', sql`${t.type} in ('STEP', 'TRANSFORMER', 'VALIDATOR', 'FLOW', 'MIDDLEWARE', 'PLUGIN')`),
  ],
);

export type ComponentTypeValue = 'STEP' | 'TRANSFORMER' | 'VALIDATOR' | 'FLOW' | 'MIDDLEWARE' | 'PLUGIN';

export interface ComponentDependencyRecord {
  name: string;
  /** A semver range; "*" when the dependency names no version. */
  range: string;
}

/**
 * Current configuration values. The global value of a key has environment '' (so
 * it can be part of the primary key); the API shows it as null. A deleted key
 * keeps its row as a tombstone so versions never restart.
 */
export const configEntries = pgTable(
  'config_entries',
  {
    key: text('key').notNull(),
    environment: text('environment').notNull(),
    value: jsonb('value'),
    version: integer('version').notNull(),
    deleted: boolean('deleted').notNull().default(false),
    /** Secret values are shown only to tokens that may write the key, and never put in events. */
    secret: boolean('secret').notNull().default(false),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.key, t.environment] })],
);

/** Every version of every configuration value, newest kept up to a bound. */
export const configHistory = pgTable(
  'config_history',
  {
    key: text('key').notNull(),
    environment: text('environment').notNull(),
    version: integer('version').notNull(),
    value: jsonb('value'),
    deleted: boolean('deleted').notNull().default(false),
    secret: boolean('secret').notNull().default(false),
    changedAt: timestamptz('changed_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.key, t.environment, t.version] })],
);

/** One row: how far the event log has been pruned (a cursor below it cannot be resumed). */
export const eventLogState = pgTable(
  'event_log_state',
  {
    singleton: boolean('singleton').primaryKey().default(true),
    prunedThrough: bigint('pruned_through', { mode: 'number' }).notNull().default(0),
  },
  (t) => [check('event_log_state_singleton', sql`${t.singleton}`)],
);

export type ComponentRow = typeof components.$inferSelect;
export type ConfigEntryRow = typeof configEntries.$inferSelect;
export type ConfigHistoryRow = typeof configHistory.$inferSelect;

export type CheckStatusValue = 'PASSING' | 'WARNING' | 'CRITICAL';
export type CheckKindValue = 'HTTP' | 'TCP' | 'GRPC' | 'SCRIPT' | 'TTL';

/** Where and how a check probes, by kind. */
export type CheckTarget =
  | { kind: 'HTTP'; url: string; method: string; headers: Record<string, string>; tlsSkipVerify: boolean }
  | { kind: 'TCP'; address: string }
  | { kind: 'GRPC'; address: string; service: string; useTls: boolean }
  | { kind: 'SCRIPT'; command: string; args: string[] }
  | { kind: 'TTL' };

/**
 * Health checks, and their schedule: a worker leases due checks (next_run_at <= now,
 * lease free or expired) with FOR UPDATE SKIP LOCKED, probes with no transaction
 * open, and writes the result back where it still holds the lease.
 */
export const healthChecks = pgTable(
  'health_checks',
  {
    id: text('id').primaryKey(),
    serviceId: text('service_id')
      .notNull()
      .references(() => services.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    kind: text('kind').$type<CheckKindValue>().notNull(),
    target: jsonb('target').$type<CheckTarget>().notNull(),
    intervalMs: integer('interval_ms').notNull(),
    timeoutMs: integer('timeout_ms').notNull(),
    /** TTL checks: how long an update stays valid. */
    ttlMs: integer('ttl_ms'),
    successBeforePassing: integer('success_before_passing').notNull().default(0),
    failuresBeforeCritical: integer('failures_before_critical').notNull().default(0),
    deregisterCriticalAfterMs: integer('deregister_critical_after_ms'),
    status: text('status').$type<CheckStatusValue>().notNull().default('CRITICAL'),
    output: text('output').notNull().default(''),
    consecutiveSuccesses: integer('consecutive_successes').notNull().default(0),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    checkCount: bigint('check_count', { mode: 'number' }).notNull().default(0),
    failureCount: bigint('failure_count', { mode: 'number' }).notNull().default(0),
    lastCheckAt: timestamptz('last_check_at'),
    statusChangedAt: timestamptz('status_changed_at').notNull().defaultNow(),
    /** Set while critical: deregisterCriticalServiceAfter counts from here. */
    criticalSince: timestamptz('critical_since').defaultNow(),
    /** Next probe (for TTL checks: when the last update lapses). */
    nextRunAt: timestamptz('next_run_at').notNull().defaultNow(),
    lockedBy: text('locked_by'),
    lockedUntil: timestamptz('locked_until'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [
    index('health_checks_service_id_idx').on(t.serviceId),
    index('health_checks_next_run_at_idx').on(t.nextRunAt),
    index('health_checks_critical_idx').on(t.criticalSince).where(sql`deregister_critical_after_ms is not null`),
    check('health_checks_kind_check', sql`${t.kind} in ('HTTP', 'TCP', 'GRPC', 'SCRIPT', 'TTL')`),
    check('health_checks_status_check', sql`${t.status} in ('PASSING', 'WARNING', 'CRITICAL')`),
  ],
);

/** Recent status transitions of each instance's checks (bounded), so flapping shows. */
export const healthTransitions = pgTable(
  'health_transitions',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    serviceId: text('service_id').notNull(),
    /** Null for a maintenance switch. */
    checkId: text('check_id'),
    checkName: text('check_name'),
    /** Null when the check is new (from) or was removed (to); for maintenance, the instance's status. */
    fromStatus: text('from_status').$type<CheckStatusValue>(),
    toStatus: text('to_status').$type<CheckStatusValue>(),
    output: text('output').notNull(),
    instanceStatus: text('instance_status').$type<CheckStatusValue>().notNull(),
    at: timestamptz('at').notNull().defaultNow(),
  },
  (t) => [index('health_transitions_service_idx').on(t.serviceId, t.id)],
);

export type HealthCheckRow = typeof healthChecks.$inferSelect;
export type HealthTransitionRow = typeof healthTransitions.$inferSelect;

export type CircuitStateValue = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/**
 * Circuit breakers, one per instance that has had outcomes reported, shared by
 * every server. The failure rate is a sliding window approximated by two fixed
 * buckets (this one and the previous, weighted by overlap).
 */
export const circuitBreakers = pgTable(
  'circuit_breakers',
  {
    serviceId: text('service_id')
      .primaryKey()
      .references(() => services.id, { onDelete: 'cascade' }),
    state: text('state').$type<CircuitStateValue>().notNull().default('CLOSED'),
    windowStart: timestamptz('window_start').notNull().defaultNow(),
    calls: integer('calls').notNull().default(0),
    failures: integer('failures').notNull().default(0),
    previousCalls: integer('previous_calls').notNull().default(0),
    previousFailures: integer('previous_failures').notNull().default(0),
    openedAt: timestamptz('opened_at'),
    /** Half-open: probe selections granted, and when the last one was. */
    probesGranted: integer('probes_granted').notNull().default(0),
    lastProbeAt: timestamptz('last_probe_at'),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [check('circuit_breakers_state_check', sql`${t.state} in ('CLOSED', 'OPEN', 'HALF_OPEN')`)],
);

export type CircuitBreakerRow = typeof circuitBreakers.$inferSelect;

export type TokenScopeValue = 'READ' | 'WRITE' | 'ADMIN';

/**
 * API tokens. Only a SHA-256 of the secret is kept (the secret is 32 random bytes,
 * so a fast hash is enough); the secret itself is shown once, at creation.
 */
export const tokens = pgTable(
  'tokens',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    secretHash: text('secret_hash').notNull().unique(),
    scopes: text('scopes').array().$type<TokenScopeValue[]>().notNull(),
    /** Service names this token may write (null: any). */
    servicePrefix: text('service_prefix'),
    /** Configuration keys this token may write, and read when secret (null: any). */
    keyPrefix: text('key_prefix'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    createdBy: jsonb('created_by').$type<EventActor>(),
    expiresAt: timestamptz('expires_at'),
    revokedAt: timestamptz('revoked_at'),
  },
);

export type TokenRow = typeof tokens.$inferSelect;
