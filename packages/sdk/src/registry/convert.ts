import type {
  ComponentFieldsFragment,
  FlowCompositionFieldsFragment,
  HealthCheckInput as WireCheck,
  InstanceFieldsFragment,
  ParameterLocation,
  ServiceDefinitionInput as WireDefinition,
} from '@switchboard/client';
import type { FlowComposition } from '@switchboard/contracts';
import type { DiscoveredInstance } from '../discovery/types.js';
import type { HealthCheck, RegisteredComponent, ServiceDefinition, ServiceInstance } from './registry.js';
import { wireDuration } from './validate.js';

/** Between the Registry's plain data and the GraphQL API's types, which stay on this side of the interface. */

export function toWireDefinition(definition: ServiceDefinition): WireDefinition {
  const { ttl, healthCheck, endpoints, tags, protocols, ...rest } = definition;
  return {
    ...rest,
    ...(tags ? { tags: [...tags] } : {}),
    ...(protocols ? { protocols: [...protocols] } : {}),
    ...(endpoints
      ? {
          endpoints: endpoints.map((endpoint) => ({
            ...endpoint,
            parameters: endpoint.parameters?.map((parameter) => ({ ...parameter, in: parameter.in.toUpperCase() as ParameterLocation })),
            responses: endpoint.responses?.map((response) => ({ ...response })),
          })),
        }
      : {}),
    ttl: wireDuration(ttl),
    healthCheck: healthCheck ? toWireCheck(healthCheck) : healthCheck,
  };
}

export function toWireCheck(check: HealthCheck): WireCheck {
  const { ttl, interval, timeout, deregisterCriticalServiceAfter, args, ...rest } = check;
  return {
    ...rest,
    ...(args ? { args: [...args] } : {}),
    ttl: wireDuration(ttl),
    interval: wireDuration(interval),
    timeout: wireDuration(timeout),
    deregisterCriticalServiceAfter: wireDuration(deregisterCriticalServiceAfter),
  };
}

export function toInstance(instance: InstanceFieldsFragment): ServiceInstance {
  return {
    id: instance.id,
    name: instance.name,
    version: instance.version,
    address: instance.address,
    port: instance.port,
    tags: instance.tags,
    metadata: instance.metadata as Record<string, string>,
    endpoints: instance.endpoints.map(({ path, method, description }) => ({ path, method, description })),
    protocols: instance.protocols,
    weight: instance.weight,
    priority: instance.priority,
    ttl: instance.ttl,
    registeredAt: instance.registeredAt,
    updatedAt: instance.updatedAt,
    lastHeartbeatAt: instance.lastHeartbeatAt,
    expiresAt: instance.expiresAt,
    health: { status: instance.health.status, output: instance.health.output },
  };
}

/** What a discovery cache keeps, as the Registry's instance: lease times and check output are not in it. */
export function fromDiscovered(instance: DiscoveredInstance): ServiceInstance {
  return toInstance({ ...instance, lastHeartbeatAt: null, expiresAt: null, health: { status: instance.health.status, output: '', lastCheck: null } });
}

/**
 * A Registry's instance as a discovery cache keeps it. Health a backend could not tell (`UNKNOWN`) counts as
 * CRITICAL: selection only routes to instances known to pass.
 */
export function toDiscovered(instance: ServiceInstance): DiscoveredInstance {
  return {
    id: instance.id,
    name: instance.name,
    version: instance.version,
    address: instance.address,
    port: instance.port,
    tags: instance.tags,
    metadata: instance.metadata,
    endpoints: instance.endpoints.map(({ path, method, description }) => ({ path, method, description, parameters: [], responses: [] })),
    protocols: instance.protocols,
    weight: instance.weight,
    priority: instance.priority,
    ttl: instance.ttl,
    registeredAt: instance.registeredAt,
    updatedAt: instance.updatedAt,
    health: { status: instance.health.status === 'UNKNOWN' ? 'CRITICAL' : instance.health.status },
  };
}

export function toComponent(component: ComponentFieldsFragment): RegisteredComponent {
  return {
    id: component.id,
    type: component.type,
    name: component.name,
    version: component.version,
    description: component.description,
    dependencies: component.dependencies.map((dependency) => dependency.spec),
    metadata: component.metadata as Record<string, unknown>,
    flows: component.flows,
    provider: component.provider ?? null,
    registeredAt: component.registeredAt,
    updatedAt: component.updatedAt,
  };
}

/** The server's FlowComposition with its components as the SDK's. */
export function toComposition(composition: FlowCompositionFieldsFragment): FlowComposition<RegisteredComponent> {
  return {
    flow: { ...composition.flow, component: composition.flow.component ? toComponent(composition.flow.component) : null },
    components: composition.components.map((entry) => ({ component: toComponent(entry.component), role: entry.role, dependsOn: entry.dependsOn })),
    excluded: composition.excluded.map((entry) => ({
      component: toComponent(entry.component),
      reason: entry.reason,
      message: entry.message,
      related: entry.related,
    })),
    problems: composition.problems.map((problem) => ({ code: problem.code, subject: problem.subject, message: problem.message })),
    complete: composition.complete,
  };
}
