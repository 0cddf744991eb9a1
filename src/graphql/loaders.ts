import DataLoader from 'dataloader';
import type { Db } from '../db/client.js';
import { getBreakers, type BreakerState } from '../registry/breakers/index.js';
import { getComponentsByNames, getComponentsDependingOn, type Component } from '../registry/components/index.js';
import { getHealthChecksByServiceIds, type HealthCheck } from '../registry/health/index.js';

/**
 * Batch loaders for graph fields, created per request (a cache must not outlive
 * the request that filled it). Each turns the N lookups of one execution tick
 * into one query.
 */
export interface Loaders {
  /** Every version of a component name. */
  componentsByName: DataLoader<string, Component[]>;
  /** Components that declare a dependency on a name. */
  componentsDependingOn: DataLoader<string, Component[]>;
  /** The health checks of an instance. */
  checksByService: DataLoader<string, HealthCheck[]>;
  /** An instance's circuit breaker (undefined: never reported on, so closed). */
  breakersByService: DataLoader<string, BreakerState | undefined>;
}

export function createLoaders(db: Db): Loaders {
  return {
    componentsByName: new DataLoader(async (names) => groupBy(names, await getComponentsByNames(db, names), (component) => [component.name])),
    componentsDependingOn: new DataLoader(async (names) =>
      groupBy(names, await getComponentsDependingOn(db, names), (component) => component.dependencyNames),
    ),
    checksByService: new DataLoader(async (ids) => groupBy(ids, await getHealthChecksByServiceIds(db, ids), (check) => [check.serviceId])),
    breakersByService: new DataLoader(async (ids) => {
      const breakers = await getBreakers(db, ids);
      return ids.map((id) => breakers.get(id));
    }),
  };
}

/** One list per key, in key order; a row lands under every key it belongs to. */
function groupBy<T>(keys: readonly string[], rows: readonly T[], keysOf: (row: T) => readonly string[]): T[][] {
  const groups = new Map<string, T[]>(keys.map((key) => [key, []]));
  for (const row of rows) for (const key of keysOf(row)) groups.get(key)?.push(row);
  return keys.map((key) => groups.get(key)!);
}
