import { sql, type SQL } from 'drizzle-orm';
import { HealthEventType, PolicyEventType, ServiceEventType } from '@switchboard/contracts';
import type { Executor } from '../../db/client.js';
import type { ServiceActivity, ServicePolicy } from './model.js';

/** Event types that can move a service's state (and so wake a watcher of the states). */
export const STATE_EVENT_TYPES: readonly string[] = [
  ServiceEventType.REGISTERED,
  ServiceEventType.UNREGISTERED,
  HealthEventType.CHANGED,
  PolicyEventType.CHANGED,
];

export interface RecentActivity {
  /** The database's clock when it was read; event times are on that clock. */
  now: number;
  byService: Map<string, ServiceActivity>;
  policies: Map<string, ServicePolicy>;
}

interface ActivityRow {
  name: string;
  critical_at: string | null;
  critical_ids: string[] | null;
  reaped_at: string | null;
  reaped: number;
  count_changed_at: string | null;
  added: number;
  removed: number;
}

interface PolicyRow {
  service: string;
  min_instances: number | null;
  max_instances: number | null;
  updated_at: string;
}

/**
 * True for a health event (aliased `alias`) where a new check starts CRITICAL (nothing is trusted
 * before it has passed): an instance starting up is not failing, so neither that event nor the
 * first pass that ends it counts as a critical moment.
 */
const startingUp = (alias: SQL) => sql`(${alias}.data->>'from' is null and ${alias}.data->>'checkId' is not null)`;

/**
 * What happened to each service within the last `windowMs`, and every policy, in one
 * statement whatever the number of services: the event log is read by time (its
 * created_at index), grouped by service name in PostgreSQL, and only the aggregates
 * come back. `prefix` limits both to names starting with it.
 *
 * A critical moment: an instance went critical (a check failed, or maintenance), left
 * critical (for a recovery, looked up: the latest move into critical before it, by the
 * (type, id) index, must not be a new check starting), or was removed while critical. A new
 * instance is critical from its first state on (its first event says CRITICAL -> CRITICAL), so
 * a check starting counts as a move into critical even when the instance's status stays.
 *
 * Event times come from the database's clock, so "now" does too.
 */
export async function readRecentActivity(db: Executor, windowMs: number, prefix: string | null): Promise<RecentActivity> {
  const [row] = await db.execute<{ now: string; activity: ActivityRow[] | null; policies: PolicyRow[] | null }>(sql`
    with clock as (select clock_timestamp() as now),
    recent as (
      select e.data->>'name' as name, e.data->>'id' as id, e.created_at,
        (e.type = ${HealthEventType.CHANGED} and e.data->>'instanceTo' = 'CRITICAL' and e.data->>'instanceFrom' <> 'CRITICAL' and not ${startingUp(sql`e`)})
          or (e.type = ${HealthEventType.CHANGED} and e.data->>'instanceFrom' = 'CRITICAL' and e.data->>'instanceTo' <> 'CRITICAL'
              and not coalesce((
                select ${startingUp(sql`w`)} from events w
                where w.type = ${HealthEventType.CHANGED} and w.id < e.id and w.data->>'id' = e.data->>'id'
                  and w.data->>'instanceTo' = 'CRITICAL' and (w.data->>'instanceFrom' <> 'CRITICAL' or ${startingUp(sql`w`)})
                order by w.id desc limit 1), false))
          or (e.type = ${ServiceEventType.UNREGISTERED}
              and (e.data->'instance'->>'checkStatus' = 'CRITICAL' or e.data->'instance'->>'maintenanceSince' is not null)) as critical,
        e.type = ${ServiceEventType.UNREGISTERED} and e.data->>'reason' = 'critical-too-long' as reaped,
        e.type = ${ServiceEventType.REGISTERED} and coalesce((e.data->>'created')::boolean, false) as added,
        e.type = ${ServiceEventType.UNREGISTERED} as removed
      from events e, clock
      where e.created_at > clock.now - ${windowMs}::int8 * interval '1 millisecond'
        and e.type in (${ServiceEventType.REGISTERED}, ${ServiceEventType.UNREGISTERED}, ${HealthEventType.CHANGED})
        and (${prefix}::text is null or starts_with(e.data->>'name', ${prefix}::text))
    ),
    activity as (
      select name,
        max(created_at) filter (where critical) as critical_at,
        array_agg(distinct id) filter (where critical) as critical_ids,
        max(created_at) filter (where reaped) as reaped_at,
        count(*) filter (where reaped) as reaped,
        max(created_at) filter (where added or removed) as count_changed_at,
        count(*) filter (where added) as added,
        count(*) filter (where removed) as removed
      from recent
      group by name
      having bool_or(critical or added or removed)
    )
    select to_json(clock.now) #>> '{}' as now,
      (select json_agg(activity) from activity) as activity,
      (select json_agg(p) from (
        select service, min_instances, max_instances, updated_at from service_policies
        where ${prefix}::text is null or starts_with(service, ${prefix}::text)
      ) p) as policies
    from clock
  `);
  const byService = new Map<string, ServiceActivity>();
  for (const entry of row?.activity ?? []) {
    byService.set(entry.name, {
      criticalAt: time(entry.critical_at),
      criticalIds: entry.critical_ids ?? [],
      reapedAt: time(entry.reaped_at),
      reaped: Number(entry.reaped),
      countChangedAt: time(entry.count_changed_at),
      added: Number(entry.added),
      removed: Number(entry.removed),
    });
  }
  const policies = new Map<string, ServicePolicy>();
  for (const entry of row?.policies ?? []) {
    policies.set(entry.service, {
      service: entry.service,
      minInstances: entry.min_instances,
      maxInstances: entry.max_instances,
      updatedAt: new Date(entry.updated_at),
    });
  }
  return { now: Date.parse(row!.now), byService, policies };
}

/**
 * An event time in ms, rounded up: PostgreSQL keeps microseconds, and an `until` computed from a
 * time rounded down would come a fraction of a millisecond before the event leaves the window.
 */
function time(value: string | null): number | null {
  if (value === null) return null;
  const micros = /\.\d{3}(\d+)/.exec(value)?.[1];
  return Date.parse(value) + (micros !== undefined && /[1-9]/.test(micros) ? 1 : 0);
}
