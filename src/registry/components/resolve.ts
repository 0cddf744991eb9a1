import semver from 'semver';
import type { Component, ComponentDependency } from './model.js';

/**
 * Dependency resolution, as pure functions over components already loaded (the
 * caller batches the loading). A dependency resolves to the highest version of
 * the named component that satisfies its range, pre-releases only when the range
 * asks for one (npm semantics).
 */
export function resolveDependency(dependency: ComponentDependency, candidates: readonly Component[]): Component | undefined {
  let best: Component | undefined;
  for (const candidate of candidates) {
    if (candidate.name !== dependency.name || !semver.satisfies(candidate.version, dependency.range)) continue;
    if (!best || semver.gt(candidate.version, best.version)) best = candidate;
  }
  return best;
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

/** Splits a component's dependencies into resolved and missing, given every candidate by name. */
export function resolveDependencies(component: Component, candidates: readonly Component[]): Resolution {
  const resolution: Resolution = { resolved: [], missing: [] };
  for (const dependency of component.dependencies) {
    const match = resolveDependency(dependency, candidates);
    if (match) {
      resolution.resolved.push({ dependency, component: match });
    } else {
      const versions = candidates.filter((candidate) => candidate.name === dependency.name).map((candidate) => candidate.version);
      resolution.missing.push({ name: dependency.name, range: dependency.range, availableVersions: semver.rsort([...new Set(versions)]) });
    }
  }
  return resolution;
}

/**
 * Of the components that name `target` as a dependency, those whose dependency
 * actually resolves to `target` (another version may win the resolution).
 */
export function dependentsOf(target: Component, declaring: readonly Component[], sameName: readonly Component[]): Component[] {
  return declaring.filter((component) => {
    const dependency = component.dependencies.find((entry) => entry.name === target.name);
    return dependency !== undefined && resolveDependency(dependency, sameName)?.id === target.id;
  });
}
