import { sql } from 'drizzle-orm';
import semver from 'semver';
import type { Executor } from '../../db/client.js';
import { effectiveState, type BreakerConfig, type BreakerState, type CircuitState } from '../breakers/machine.js';
import type { ServiceInstance } from '../services/model.js';

/** Why an instance was not chosen from. */
export type ExclusionReason =
  | 'CRITICAL'
  | 'WARNING'
  | 'MAINTENANCE'
  | 'TTL_EXPIRED'
  | 'CIRCUIT_OPEN'
  | 'CIRCUIT_HALF_OPEN_BUSY'
  | 'TAG_MISMATCH'
  | 'VERSION_MISMATCH'
  | 'LOWER_PRIORITY_TIER'
  | 'DRAINED';

/** What selection needs of an instance (the rest is loaded only for the one chosen). */
export type SelectableInstance = Pick<
  ServiceInstance,
  'id' | 'name' | 'version' | 'tags' | 'weight' | 'priority' | 'checkStatus' | 'maintenanceSince' | 'expiresAt'
>;

export interface Candidate {
  instance: SelectableInstance;
  breaker: BreakerState | undefined;
  circuit: CircuitState;
  /** Why it cannot be chosen at all (health, maintenance, breaker, filters). */
  exclusions: ExclusionReason[];
}

export interface CandidateFilter {
  tags?: readonly string[] | null | undefined;
  /** A validated semver range. */
  range?: string | undefined;
  /** Instances whose checks warn are acceptable. */
  allowWarning?: boolean | null | undefined;
}

interface CandidateRow {
  id: string;
  name: string;
  version: string;
  tags: string[];
  weight: number;
  priority: number;
  check_status: ServiceInstance['checkStatus'];
  maintenance_ms: number | null;
  expires_ms: number | null;
  breaker_state: BreakerState['state'] | null;
  window_ms: number | null;
  calls: number | null;
  failures: number | null;
  previous_calls: number | null;
  previous_failures: number | null;
  opened_ms: number | null;
  probes_granted: number | null;
  last_probe_ms: number | null;
}

/**
 * Every instance of the service with its breaker, in id order: one query, only
 * the columns selection reads, mapped by hand (it runs on every selection).
 */
export async function loadCandidates(db: Executor, name: string): Promise<{ instance: SelectableInstance; breaker: BreakerState | undefined }[]> {
  const epoch = (column: string) => sql.raw(`(extract(epoch from ${column}) * 1000)::float8`);
  const rows = await db.execute<CandidateRow & Record<string, unknown>>(sql`
    select s.id, s.name, s.version, s.tags, s.weight, s.priority, s.check_status,
           ${epoch('s.maintenance_since')} as maintenance_ms, ${epoch('s.expires_at')} as expires_ms,
           b.state as breaker_state, ${epoch('b.window_start')} as window_ms, b.calls, b.failures,
           b.previous_calls, b.previous_failures, ${epoch('b.opened_at')} as opened_ms,
           b.probes_granted, ${epoch('b.last_probe_at')} as last_probe_ms
    from services s
    left join circuit_breakers b on b.service_id = s.id
    where s.name = ${name}
    order by s.id`);
  return rows.map((row) => ({
    instance: {
      id: row.id,
      name: row.name,
      version: row.version,
      tags: row.tags,
      weight: row.weight,
      priority: row.priority,
      checkStatus: row.check_status,
      maintenanceSince: row.maintenance_ms === null ? null : new Date(row.maintenance_ms),
      expiresAt: row.expires_ms === null ? null : new Date(row.expires_ms),
    },
    breaker:
      row.breaker_state === null
        ? undefined
        : {
            state: row.breaker_state,
            windowStart: row.window_ms!,
            calls: row.calls!,
            failures: row.failures!,
            previousCalls: row.previous_calls!,
            previousFailures: row.previous_failures!,
            openedAt: row.opened_ms,
            probesGranted: row.probes_granted!,
            lastProbeAt: row.last_probe_ms,
          },
  }));
}

/** Works out, for each instance, everything that rules it out. */
export function classify(
  loaded: readonly { instance: SelectableInstance; breaker: BreakerState | undefined }[],
  filter: CandidateFilter,
  now: number,
  config: BreakerConfig,
): Candidate[] {
  return loaded.map(({ instance, breaker }) => {
    const exclusions: ExclusionReason[] = [];
    if (filter.tags?.some((tag) => !instance.tags.includes(tag))) exclusions.push('TAG_MISMATCH');
    if (filter.range && !semver.satisfies(instance.version, filter.range)) exclusions.push('VERSION_MISMATCH');
    if (instance.maintenanceSince) exclusions.push('MAINTENANCE');
    if (instance.expiresAt && instance.expiresAt.getTime() <= now) exclusions.push('TTL_EXPIRED');
    if (instance.checkStatus === 'CRITICAL') exclusions.push('CRITICAL');
    if (instance.checkStatus === 'WARNING' && !filter.allowWarning) exclusions.push('WARNING');
    const circuit = breaker ? effectiveState(breaker, now, config) : 'CLOSED';
    if (circuit === 'OPEN') exclusions.push('CIRCUIT_OPEN');
    return { instance, breaker, circuit, exclusions };
  });
}
