import semver from 'semver';
import type { Component, ComponentDependency } from './model.js';

/**
 * Dependency resolution, as pure functions over components already loaded (the
 * caller batches the loading). A dependency names a component id or a name:
 *
 * - a component whose id is the reference wins, if its version is in the range
 *   (an id names one component: "custom-api-step-v1" pins that one);
 * - otherwise, of the components with that name, the highest version in the range,
 *   pre-releases only when the range asks for one (npm semantics). Two components
 *   with the same name and version (display names are not unique) resolve to the
 *   one with the smaller id, so every node and every read picks the same one.
 */
export function resolveDependency(dependency: ComponentDependency, candidates: readonly Component[]): Component | undefined {
  const reference = dependency.name;
  const byId = candidates.find((candidate) => candidate.id === reference);
  if (byId && semver.satisfies(byId.version, dependency.range)) return byId;
  let best: Component | undefined;
  for (const candidate of candidates) {
    if (candidate.name !== reference || !semver.satisfies(candidate.version, dependency.range)) continue;
    if (!best || semver.gt(candidate.version, best.version) || (semver.eq(candidate.version, best.version) && candidate.id < best.id)) best = candidate;
  }
  return best;
}

/** Whether `reference` (a dependency's target) names this component, by id or by name. */
export function refersTo(reference: string, component: Component): boolean {
  return component.id === reference || component.name === reference;
}

/** The references a dependency may name this component by: its id and its name (once when they are equal). */
export function referencesOf(component: Component): string[] {
  return [...new Set([component.id, component.name])];
}

export interface MissingDependency {
  name: string;
  range: string;
  /** Versions of that name that are registered but do not satisfy the range (newest first). */
  availableVersions: string[];
}

export interface Resolution {
  resolved: { dependency: ComponentDependency; component: Component }[];
  missing: MissingDependency[];
}

/** Splits a component's dependencies into resolved and missing, given every candidate by id or name. */
export function resolveDependencies(component: Component, candidates: readonly Component[]): Resolution {
  const resolution: Resolution = { resolved: [], missing: [] };
  for (const dependency of component.dependencies) {
    const match = resolveDependency(dependency, candidates);
    if (match) {
      resolution.resolved.push({ dependency, component: match });
    } else {
      const versions = candidates.filter((candidate) => refersTo(dependency.name, candidate)).map((candidate) => candidate.version);
      resolution.missing.push({ name: dependency.name, range: dependency.range, availableVersions: semver.rsort([...new Set(versions)]) });
    }
  }
  return resolution;
}

/**
 * Of the components that name `target` (by id or name) as a dependency, those whose
 * dependency actually resolves to `target` (another version may win the resolution).
 * `candidates`: every component whose id or name is `target`'s id or name.
 */
export function dependentsOf(target: Component, declaring: readonly Component[], candidates: readonly Component[]): Component[] {
  return declaring.filter((component) =>
    component.dependencies.some((dependency) => refersTo(dependency.name, target) && resolveDependency(dependency, candidates)?.id === target.id),
  );
}
