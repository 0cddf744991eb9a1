import { formatDuration } from '@switchboard/contracts';
import type { InstanceHealth, ServiceActivity, ServicePolicy, ServiceState, ServiceStateCounts, ServiceStatus } from './model.js';

export interface ClassifyInput {
  name: string;
  /** The service's instances now. */
  instances: readonly InstanceHealth[];
  /** Its changes within the window (none: undefined). */
  activity?: ServiceActivity | undefined;
  policy?: ServicePolicy | undefined;
  /** The moment being judged, in ms (the clock the activity's times use). */
  now: number;
  windowMs: number;
}

const NO_ACTIVITY: ServiceActivity = { criticalAt: null, criticalIds: [], reapedAt: null, reaped: 0, countChangedAt: null, added: 0, removed: 0 };

/**
 * One service's state (see model.ts for the definitions and their order). Pure: it
 * takes the instances, the recent activity and the policy, and reads no clock, so
 * the alert rules and the API judge a service alike.
 */
export function classifyService(input: ClassifyInput): ServiceStatus {
  const { name, instances, policy, now, windowMs } = input;
  const activity = input.activity ?? NO_ACTIVITY;
  const window = formatDuration(windowMs);
  const count = instances.length;
  const passing = instances.filter((instance) => instance.status === 'PASSING').length;
  const warning = instances.filter((instance) => instance.status === 'WARNING').length;
  const criticalNow = new Set(instances.filter((instance) => instance.status === 'CRITICAL').map((instance) => instance.id));
  const min = policy?.minInstances ?? null;
  const max = policy?.maxInstances ?? null;

  const down: string[] = [];
  if (count === 0) down.push(min !== null && min > 0 ? `no instance registered; minInstances is ${min}` : 'no instance registered');
  else if (passing === 0) down.push(`none of ${plural(count, 'instance')} passing`);

  const healing: string[] = [];
  let healingUntil: number | null = null;
  if (criticalNow.size > 0) healing.push(`${criticalNow.size} of ${plural(count, 'instance')} critical`);
  // Recovering: still in the window after the last critical moment (the state then moves by time alone).
  const recovered = activity.criticalIds.filter((id) => !criticalNow.has(id)).length;
  if (activity.criticalAt !== null && recovered > 0) {
    healing.push(`${plural(recovered, 'instance')} critical within the last ${window}`);
    healingUntil = activity.criticalAt + windowMs;
  }
  if (activity.reapedAt !== null && activity.reaped > 0) {
    healing.push(`${plural(activity.reaped, 'instance')} removed within the last ${window} after staying critical (deregisterCriticalServiceAfter)`);
    healingUntil = Math.max(healingUntil ?? 0, activity.reapedAt + windowMs);
  }

  const scaling: string[] = [];
  const outOfBounds = (min !== null && count < min) || (max !== null && count > max);
  if (min !== null && count < min && count > 0) scaling.push(`${plural(min - count, 'instance')} fewer than minInstances ${min}`);
  if (max !== null && count > max) scaling.push(`${plural(count - max, 'instance')} more than maxInstances ${max}`);
  if (activity.countChangedAt !== null && activity.added + activity.removed > 0) {
    const changes = [activity.added > 0 ? `${activity.added} registered` : '', activity.removed > 0 ? `${activity.removed} removed` : ''].filter(Boolean);
    scaling.push(`instance count changed within the last ${window} (${changes.join(', ')})`);
  }
  const scalingUntil = !outOfBounds && activity.countChangedAt !== null ? activity.countChangedAt + windowMs : null;

  let state: ServiceState;
  let until: number | null = null;
  if (down.length > 0) state = 'DOWN';
  else if (healing.length > 0) {
    state = 'HEALING';
    until = criticalNow.size > 0 ? null : healingUntil;
  } else if (scaling.length > 0) {
    state = 'SCALING';
    until = scalingUntil;
  } else state = 'ACTIVE';
  // An edge that has already passed (the caller's clock is a moment behind the log's) is no future change.
  if (until !== null && until <= now) until = now;

  return {
    name,
    state,
    reasons: [...down, ...healing, ...scaling],
    instances: count,
    passing,
    warning,
    critical: criticalNow.size,
    minInstances: min,
    maxInstances: max,
    until: until === null ? null : new Date(until),
  };
}

/** How many services are in each state. */
export function countStates(services: readonly ServiceStatus[]): ServiceStateCounts {
  const counts: ServiceStateCounts = { active: 0, scaling: 0, healing: 0, down: 0 };
  for (const service of services) counts[service.state.toLowerCase() as keyof ServiceStateCounts] += 1;
  return counts;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
