import { randomBytes } from 'node:crypto';
import { EVENT_SOURCE, ServiceEventType } from '@switchboard/contracts';
import type { EventHandler, RegistryEvent, ServiceInstance, Stop } from '@switchboard/sdk';
import { CatalogWatch } from './catalog-watch.js';
import type { RegistryContext } from './context.js';

/**
 * `service.registered` and `service.unregistered`, read off the catalog rather than stored: Consul keeps no
 * event of them. The whole catalog is watched (as `watchCatalog`: one blocking query per service) and each set
 * compared with the last: a new instance is `service.registered` (`created: true`), one whose registration
 * changed (not its health) `created: false`, one gone `service.unregistered`. Consul does not say why an
 * instance left (deregistered, or reaped after its checks stayed critical), so `reason` is `deregistered`.
 * What changes while Consul cannot be reached is told when it answers again. `start()`'s keeper relies on it.
 */
export async function watchServiceEvents(context: RegistryContext, wanted: (type: string) => boolean, handler: EventHandler): Promise<Stop> {
  let known: Map<string, { instance: ServiceInstance; registration: string }> | undefined;
  const watch = new CatalogWatch(
    context,
    (instances) => {
      const next = new Map(instances.map((instance) => [instance.id, { instance, registration: registrationOf(instance) }]));
      const previous = known;
      known = next;
      if (!previous) return; // the first set is where "from now on" starts
      for (const [id, { instance, registration }] of next) {
        const before = previous.get(id);
        if (before?.registration === registration) continue;
        emit(ServiceEventType.REGISTERED, instance, { created: before === undefined });
      }
      for (const [id, { instance }] of previous) if (!next.has(id)) emit(ServiceEventType.UNREGISTERED, instance, { reason: 'deregistered' });
    },
    {},
  );
  function emit(type: string, instance: ServiceInstance, extra: Record<string, unknown>): void {
    if (!wanted(type)) return;
    const now = new Date();
    const address =
      instance.port === null ? instance.address : `${instance.address.includes(':') ? `[${instance.address}]` : instance.address}:${instance.port}`;
    const event: RegistryEvent = {
      id: `${String(now.getTime()).padStart(15, '0')}-${randomBytes(4).toString('hex')}`,
      type,
      source: EVENT_SOURCE,
      data: { id: instance.id, name: instance.name, service_id: instance.id, service_name: instance.name, address, instance, ...extra },
      timestamp: now.toISOString(),
    };
    handler(event);
  }
  try {
    await watch.start();
  } catch (error) {
    await watch.stop();
    throw error;
  }
  return () => watch.stop();
}

/** What a registration sets: the instance without its health, which checks change. */
function registrationOf(instance: ServiceInstance): string {
  return JSON.stringify({ ...instance, health: undefined });
}
