import { getHealthChecksByServiceIds, type HealthCheck } from '../../registry/health/index.js';
import type { Db } from '../../db/handle.js';
import type { ServiceInstance } from '../../registry/services/index.js';

/** The checks of these instances, by instance id, in one query. */
export async function checksByInstance(db: Db, instances: readonly ServiceInstance[]): Promise<Map<string, HealthCheck[]>> {
  const byInstance = new Map<string, HealthCheck[]>();
  for (const check of await getHealthChecksByServiceIds(
    db,
    instances.map((instance) => instance.id),
  )) {
    let list = byInstance.get(check.serviceId);
    if (!list) byInstance.set(check.serviceId, (list = []));
    list.push(check);
  }
  return byInstance;
}
