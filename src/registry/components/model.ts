import type { ComponentDependencyRecord, ComponentTypeValue } from '@switchboard/contracts';

export type ComponentType = ComponentTypeValue;
export type ComponentDependency = ComponentDependencyRecord;

/** A catalogued framework component, as the domain hands it out. */
export interface Component {
  id: string;
  type: ComponentType;
  /** A display name ("Custom API Step"); several versions of one name coexist under different ids. */
  name: string;
  version: string;
  description: string | null;
  /** Declared dependencies, in declaration order. */
  dependencies: ComponentDependency[];
  /** The names in `dependencies` (derived; not part of the event snapshot). */
  dependencyNames: string[];
  metadata: Record<string, unknown>;
  /** The flows it declares it serves: "checkout", "checkout@^2", "tag:payments" (empty: none declared). */
  flows: string[];
  /** The service (a name) whose instances run it; null when it needs none. */
  provider: string | null;
  registeredAt: Date;
  updatedAt: Date;
}

/** "name" or "name@range", as written in a dependency list. */
export function dependencySpec(dependency: ComponentDependency): string {
  return dependency.range === '*' ? dependency.name : `${dependency.name}@${dependency.range}`;
}

/** The component as stored in an event's data (dates as ISO strings). */
export function toSnapshot(component: Component): Record<string, unknown> {
  const { dependencyNames: _derived, ...rest } = component;
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
}
