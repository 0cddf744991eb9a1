import { sql } from 'drizzle-orm';
import { AlertLimits, type AlertRuleKindValue } from '@switchboard/contracts';
import type { Executor } from '../../db/client.js';
import type { AlertRuleRow } from '../../db/schema/index.js';
import type { StoredEvent } from '../../events/types.js';
import { effectiveStatus } from '../health/model.js';
import { classifyService, readRecentActivity, SERVICE_STATE_DEFINITIONS, STATE_EVENT_TYPES, type InstanceHealth } from '../states/index.js';

/** One alert the condition raises now: its labels (besides the rule's) and what it says. */
export interface Observation {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Since when it holds, when the state says (a circuit's openedAt); else: since first seen. */
  since?: Date;
  /** Event kinds: the newest event it stands for (the rule's seenEventId moves up to it). */
  eventId?: number;
}

/**
 * One kind of rule: how to read its condition from the stored state (every alert it raises
 * now; none when it does not hold), and which events may change the answer (so the evaluator
 * looks again at once instead of at the next tick). A new kind is one more entry here.
 */
export interface KindEvaluator {
  observe(db: Executor, rule: AlertRuleRow): Promise<Observation[]>;
  concerns(rule: AlertRuleRow, event: StoredEvent): boolean;
}

const SERVICE_EVENTS = new Set(['service.registered', 'service.unregistered', 'service.health.changed']);

const aboutService = (rule: AlertRuleRow, event: StoredEvent, types: (type: string) => boolean) => types(event.type) && event.data['name'] === rule.service;

async function passingCount(db: Executor, service: string): Promise<{ passing: number; total: number }> {
  const [row] = await db.execute<{ passing: number; total: number }>(sql`
    select (count(*) filter (where check_status = 'PASSING' and maintenance_since is null))::int as passing, count(*)::int as total
    from services where name = ${service}::text`);
  return { passing: row?.passing ?? 0, total: row?.total ?? 0 };
}

const holdMs = (rule: AlertRuleRow) => rule.holdMs ?? AlertLimits.defaultHoldMs;

/** SERVICE_STATE's window when the rule names none: the service states' own default. */
const STATE_WINDOW_MS = 300_000;

/**
 * Which events an event kind looks at: those after the rule was written that are either recent
 * (within `hold`: the alert keeps firing) or not accounted for yet (a late evaluation still fires
 * for them, and resolves at the next one).
 */
const recentOrUnseen = (rule: AlertRuleRow) => sql`
  (id > ${rule.seenEventId}::int8
   or (id > ${rule.sinceEventId}::int8 and created_at > now() - ${holdMs(rule)}::int * interval '1 millisecond'))`;

/** "deploy.*" matches deploy.started and deploy.finished; anything else matches itself. */
function typeMatcher(pattern: string): { exact: string | null; prefix: string | null } {
  return pattern.endsWith('.*') ? { exact: null, prefix: pattern.slice(0, -1) } : { exact: pattern, prefix: null };
}

export const KINDS: Record<AlertRuleKindValue, KindEvaluator> = {
  /** No passing instance of the service (none registered counts too). */
  NO_PASSING: {
    async observe(db, rule) {
      const { passing, total } = await passingCount(db, rule.service!);
      if (passing > 0) return [];
      return [{ labels: { service: rule.service! }, annotations: { summary: `No passing instance of ${rule.service} (${total} registered).` } }];
    },
    concerns: (rule, event) => aboutService(rule, event, (type) => SERVICE_EVENTS.has(type)),
  },

  /** Fewer than minPassing passing instances. */
  FEWER_PASSING: {
    async observe(db, rule) {
      const { passing, total } = await passingCount(db, rule.service!);
      if (passing >= rule.minPassing!) return [];
      return [
        {
          labels: { service: rule.service! },
          annotations: { summary: `${passing} of ${total} instances of ${rule.service} are passing; at least ${rule.minPassing} should be.` },
        },
      ];
    },
    concerns: (rule, event) => aboutService(rule, event, (type) => SERVICE_EVENTS.has(type)),
  },

  /** An instance with at least `transitions` check status changes within `window` (the health history; a check added or removed is not a change). */
  FLAPPING: {
    async observe(db, rule) {
      const rows = await db.execute<{ id: string; changes: number }>(sql`
        select t.service_id as id, count(*)::int as changes
        from health_transitions t join services s on s.id = t.service_id
        where s.name = ${rule.service!}::text
          and t.at > now() - ${rule.windowMs!}::int * interval '1 millisecond'
          and t.from_status is not null and t.to_status is not null and t.from_status <> t.to_status
        group by t.service_id
        having count(*) >= ${rule.transitions!}::int
        order by t.service_id`);
      return rows.map((row) => ({
        labels: { service: rule.service!, instance: row.id },
        annotations: { summary: `Instance ${row.id} of ${rule.service} changed health ${row.changes} times within ${rule.windowMs! / 1000}s.` },
      }));
    },
    concerns: (rule, event) => aboutService(rule, event, (type) => type === 'service.health.changed'),
  },

  /** A circuit breaker of an instance that is not closed (OPEN, or HALF_OPEN: still unproven). */
  CIRCUIT_OPEN: {
    async observe(db, rule) {
      const rows = await db.execute<{ id: string; state: string; opened_at: string | null }>(sql`
        select b.service_id as id, b.state, to_json(b.opened_at) #>> '{}' as opened_at
        from circuit_breakers b join services s on s.id = b.service_id
        where s.name = ${rule.service!}::text and b.state <> 'CLOSED'
        order by b.service_id`);
      return rows.map((row) => ({
        labels: { service: rule.service!, instance: row.id },
        annotations: { summary: `The circuit breaker of ${row.id} (${rule.service}) is ${row.state}.` },
        ...(row.opened_at ? { since: new Date(row.opened_at) } : {}),
      }));
    },
    concerns: (rule, event) => aboutService(rule, event, (type) => type.startsWith('circuit.')),
  },

  /** A configuration key under the prefix changed (in the environment, when given) within `hold`. */
  CONFIG_CHANGED: {
    async observe(db, rule) {
      const rows = await db.execute<{ key: string; environment: string | null; changes: number; last_id: number }>(sql`
        select data->>'key' as key, data->>'environment' as environment, count(*)::int as changes, max(id)::float8 as last_id
        from events
        where type = 'config.changed' and ${recentOrUnseen(rule)}
          and starts_with(data->>'key', ${rule.keyPrefix!}::text)
          and (${rule.environment}::text is null or data->>'environment' = ${rule.environment}::text)
        group by 1, 2
        order by 1, 2`);
      return rows.map((row) => ({
        labels: { key: row.key, ...(row.environment === null ? {} : { environment: row.environment }) },
        annotations: { summary: `Configuration key ${row.key}${row.environment ? ` (${row.environment})` : ''} changed.` },
        eventId: row.last_id,
      }));
    },
    concerns: (rule, event) =>
      event.type === 'config.changed' &&
      String(event.data['key']).startsWith(rule.keyPrefix!) &&
      (rule.environment === null || event.data['environment'] === rule.environment),
  },

  /** An event of the type (or under the "x.*" prefix) was appended within `hold`. */
  EVENT_SEEN: {
    async observe(db, rule) {
      const { exact, prefix } = typeMatcher(rule.eventType!);
      const rows = await db.execute<{ type: string; seen: number; last_id: number }>(sql`
        select type, count(*)::int as seen, max(id)::float8 as last_id
        from events
        where ${recentOrUnseen(rule)}
          and (type = ${exact}::text or starts_with(type, ${prefix}::text))
        group by type
        order by type`);
      return rows.map((row) => ({
        labels: { event_type: row.type },
        annotations: { summary: `${row.seen} ${row.type} event${row.seen === 1 ? '' : 's'} seen.` },
        eventId: row.last_id,
      }));
    },
    concerns: (rule, event) => {
      const { exact, prefix } = typeMatcher(rule.eventType!);
      return exact !== null ? event.type === exact : event.type.startsWith(prefix!);
    },
  },

  /**
   * A service (or any, without `service`) in one of `states`, judged as the serviceStates query
   * judges it (src/registry/states), over `window` (default 5m). One alert per service and state:
   * moving from SCALING to HEALING resolves one and fires the other.
   */
  SERVICE_STATE: {
    async observe(db, rule) {
      const windowMs = rule.windowMs ?? STATE_WINDOW_MS;
      const recent = await readRecentActivity(db, windowMs, rule.service);
      const rows = await db.execute<{ id: string; name: string; check_status: InstanceHealth['status']; maintenance: boolean }>(sql`
        select id, name, check_status, maintenance_since is not null as maintenance
        from services where ${rule.service}::text is null or name = ${rule.service}::text`);
      const byName = new Map<string, InstanceHealth[]>();
      for (const row of rows) {
        const status = effectiveStatus({ checkStatus: row.check_status, maintenanceSince: row.maintenance ? new Date() : null });
        byName.set(row.name, [...(byName.get(row.name) ?? []), { id: row.id, status }]);
      }
      for (const policy of recent.policies.values()) {
        if ((policy.minInstances ?? 0) > 0 && (rule.service === null || policy.service === rule.service) && !byName.has(policy.service))
          byName.set(policy.service, []);
      }
      const wanted = new Set(rule.states ?? []);
      return [...byName.keys()].sort().flatMap((name) => {
        const status = classifyService({
          name,
          instances: byName.get(name)!,
          activity: recent.byService.get(name),
          policy: recent.policies.get(name),
          now: recent.now,
          windowMs,
        });
        if (!wanted.has(status.state)) return [];
        const summary = status.reasons.length > 0 ? status.reasons.join('; ') : SERVICE_STATE_DEFINITIONS[status.state];
        return [{ labels: { service: name, state: status.state }, annotations: { summary: `${name} is ${status.state}: ${summary}` } }];
      });
    },
    concerns: (rule, event) => STATE_EVENT_TYPES.includes(event.type) && (rule.service === null || event.data['name'] === rule.service),
  },
};
