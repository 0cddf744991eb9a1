import type { ComponentDependencyRecord, ComponentRow, ComponentTypeValue } from '../../db/schema.js';

/** A catalogued framework component, as the domain hands it out. */
export type Component = ComponentRow;
export type ComponentType = ComponentTypeValue;
export type ComponentDependency = ComponentDependencyRecord;


/** "name" or "name@range", as written in a dependency list. */
export function dependencySpec(dependency: ComponentDependency): string {
  return dependency.range === '*' ? dependency.name : `${dependency.name}@${dependency.range}`;
}

/** The component as stored in an event's data (dates as ISO strings). */
export function toSnapshot(component: Component): Record<string, unknown> {
  const { dependencyNames: _derived, ...rest } = component;
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
}
