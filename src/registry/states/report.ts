import { badInput, formatDuration } from '@switchboard/contracts';
import type { Executor } from '../../db/client.js';
import type { Catalog } from '../catalog/index.js';
import { effectiveStatus } from '../health/model.js';
import { readRecentActivity } from './activity.js';
import { classifyService, countStates } from './classify.js';
import type { InstanceHealth, ServiceStateReport } from './model.js';

export interface StatesQuery {
  /** The window in ms (default: the server's SWITCHBOARD_STATE_WINDOW). */
  windowMs?: number | null | undefined;
  /** Only service names starting with this. */
  prefix?: string | null | undefined;
}

export const STATE_WINDOW_MIN_MS = 1_000;
export const STATE_WINDOW_MAX_MS = 7 * 86_400_000;
const PREFIX = /^[A-Za-z0-9._-]{0,128}$/;

/** The window and prefix a query asks for, checked (BAD_USER_INPUT otherwise). */
export function statesQuery(query: StatesQuery, defaultWindowMs: number): { windowMs: number; prefix: string | null } {
  const windowMs = query.windowMs ?? defaultWindowMs;
  if (!Number.isFinite(windowMs) || windowMs < STATE_WINDOW_MIN_MS || windowMs > STATE_WINDOW_MAX_MS) {
    throw badInput(`window must be from ${formatDuration(STATE_WINDOW_MIN_MS)} to ${formatDuration(STATE_WINDOW_MAX_MS)}.`, { field: 'window' });
  }
  const prefix = query.prefix ?? null;
  if (prefix !== null && !PREFIX.test(prefix)) {
    throw badInput('prefix must be the start of a service name: at most 128 letters, digits, ".", "_" or "-".', { field: 'prefix' });
  }
  return { windowMs, prefix: prefix === '' ? null : prefix };
}

/**
 * Every service's state: the instances and their health from this server's in-memory
 * catalog, the window's activity and the policies from one SQL statement (see
 * readRecentActivity), whatever the number of services. A service with no instance
 * is listed only when its policy asks for at least one (it is then DOWN).
 */
export async function computeServiceStates(db: Executor, catalog: Catalog, query: StatesQuery, defaultWindowMs: number): Promise<ServiceStateReport> {
  const { windowMs, prefix } = statesQuery(query, defaultWindowMs);
  const recent = await readRecentActivity(db, windowMs, prefix);
  const names = new Set(catalog.names().filter((name) => prefix === null || name.startsWith(prefix)));
  for (const policy of recent.policies.values()) if ((policy.minInstances ?? 0) > 0) names.add(policy.service);
  const services = [...names].sort().map((name) => {
    const instances: InstanceHealth[] = catalog.byService(name).map(({ instance }) => ({ id: instance.id, status: effectiveStatus(instance) }));
    return classifyService({
      name,
      instances,
      activity: recent.byService.get(name),
      policy: recent.policies.get(name),
      now: recent.now,
      windowMs,
    });
  });
  return { counts: countStates(services), services, windowMs, computedAt: new Date(recent.now) };
}

/** The soonest moment a report changes by time alone (undefined: only a change can move it). */
export function nextUntil(report: ServiceStateReport): number | undefined {
  let soonest: number | undefined;
  for (const service of report.services) {
    const until = service.until?.getTime();
    if (until !== undefined && (soonest === undefined || until < soonest)) soonest = until;
  }
  return soonest;
}
