import type { Duration } from '../registry/registry.js';
import type { ComponentDeclaration } from './component.js';
import type { DependencyDeclaration, ServiceDeclaration } from './declaration.js';

/**
 * The registry generator's run-time half (the seed's "Optimized Binary → Runtime Registry"). `switchboard
 * generate` writes a module of constants from the manifest that calls `useGeneratedRegistry` when it is
 * imported; from then on `start(Class)` takes the class's declaration from it by class name instead of from
 * decorator metadata, and registers the components its service provides in the order the generator computed.
 * Nothing here validates again: the manifest was validated with the server's rules when it was generated.
 */
export interface GeneratedService {
  className: string;
  name: string;
  version?: string;
  port: number;
  address?: string;
  tags: readonly string[];
  metadata: Readonly<Record<string, string>>;
  healthCheck?: { http: string; interval?: Duration; timeout?: Duration } | { ttl: Duration };
  ephemeral: boolean;
  dependencies: readonly DependencyDeclaration[];
  dependencyFields: readonly { field: string; service: string }[];
  configFields: readonly { field: string; key: string; default?: unknown }[];
}

export type GeneratedComponent = Omit<ComponentDeclaration, 'className' | 'description' | 'provider'> & {
  className?: string;
  description?: string;
  provider?: string;
};

export interface GeneratedRegistry {
  manifestVersion: 1;
  project?: string;
  services: readonly GeneratedService[];
  /** In dependency order: each after the components it depends on. */
  components: readonly GeneratedComponent[];
}

let current: { registry: GeneratedRegistry; byClass: Map<string, GeneratedService> } | undefined;

/** Called by a generated module at import: start() declares services and registers components from it from now on. */
export function useGeneratedRegistry(registry: GeneratedRegistry): void {
  current = { registry, byClass: new Map(registry.services.map((service) => [service.className, service])) };
}

/** The generated registry in use, if a generated module has been imported. */
export function generatedRegistry(): GeneratedRegistry | undefined {
  return current?.registry;
}

/** Forgets the generated registry (tests, and a process that wants the decorators' view back). */
export function clearGeneratedRegistry(): void {
  current = undefined;
}

/**
 * The declaration of `className` from the generated registry, or undefined. Fields are filled by assignment,
 * which is what a standard field decorator's `access.set` does for the public fields `scan` accepts.
 */
export function generatedDeclaration(className: string): ServiceDeclaration | undefined {
  const service = current?.byClass.get(className);
  if (!service) return undefined;
  const set = (field: string) => (instance: object, value: unknown) => {
    (instance as Record<string, unknown>)[field] = value;
  };
  return {
    className: service.className,
    name: service.name,
    version: service.version,
    port: service.port,
    address: service.address,
    tags: [...service.tags],
    metadata: { ...service.metadata },
    healthCheck: service.healthCheck,
    ephemeral: service.ephemeral,
    dependencies: service.dependencies.map((dependency) => ({ ...dependency })),
    dependencyFields: service.dependencyFields.map(({ field, service: name }) => ({ field, service: name, set: set(field) })),
    configFields: service.configFields.map(({ field, key }) => ({ field, key, set: set(field) })),
  };
}
