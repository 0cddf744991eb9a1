import { HealthEventType, ServiceEventType } from '@switchboard/contracts';
import type { RegistryEvent, ServiceInstance } from '@switchboard/sdk';

/** The events a Kubernetes registry can tell: derived from what the informers see change, not read from a log. */
export const DERIVED_EVENT_TYPES: readonly string[] = [ServiceEventType.REGISTERED, ServiceEventType.UNREGISTERED, HealthEventType.CHANGED];

/** An exact type, or a prefix written "service.*", as the server matches them. */
export function matchesType(type: string, pattern: string): boolean {
  return pattern.endsWith('.*') ? type.startsWith(pattern.slice(0, -1)) : type === pattern;
}

/**
 * The events between two sets, with the data the server's events carry (`id`, `name`, the seed's `service_id`,
 * `service_name` and `address`): `service.registered` for an instance that appeared (`created`) or whose
 * definition changed, `service.unregistered` for one that went (reason `deregistered`), and
 * `service.health.changed` for one whose endpoint conditions changed.
 */
export function changeEvents(before: readonly ServiceInstance[], after: readonly ServiceInstance[], source: string, nextId: () => string): RegistryEvent[] {
  const key = (instance: ServiceInstance) => `${instance.name}\0${instance.id}`;
  const previous = new Map(before.map((instance) => [key(instance), instance]));
  const timestamp = new Date().toISOString();
  const event = (type: string, instance: ServiceInstance, data: Record<string, unknown>): RegistryEvent => ({
    id: nextId(),
    type,
    source,
    timestamp,
    data: { ...identity(instance), ...data },
  });
  const events: RegistryEvent[] = [];
  for (const instance of after) {
    const old = previous.get(key(instance));
    previous.delete(key(instance));
    if (!old) {
      events.push(event(ServiceEventType.REGISTERED, instance, { created: true, instance }));
      continue;
    }
    if (definitionOf(old) !== definitionOf(instance)) events.push(event(ServiceEventType.REGISTERED, instance, { created: false, instance }));
    if (old.health.status !== instance.health.status) {
      events.push(
        event(HealthEventType.CHANGED, instance, {
          checkId: null,
          checkName: null,
          from: old.health.status,
          to: instance.health.status,
          output: instance.health.output,
          instanceFrom: old.health.status,
          instanceTo: instance.health.status,
          checkStatus: instance.health.status,
          maintenance: null,
        }),
      );
    }
  }
  for (const gone of previous.values()) events.push(event(ServiceEventType.UNREGISTERED, gone, { reason: 'deregistered', instance: gone }));
  return events;
}

function identity(instance: ServiceInstance): Record<string, unknown> {
  const address = instance.port === null ? instance.address : `${instance.address}:${instance.port}`;
  return { id: instance.id, name: instance.name, service_id: instance.id, service_name: instance.name, address };
}

/** What a registration would say: everything but health and the times. */
function definitionOf(instance: ServiceInstance): string {
  const { health: _health, updatedAt: _updatedAt, ...definition } = instance;
  return JSON.stringify(definition);
}
