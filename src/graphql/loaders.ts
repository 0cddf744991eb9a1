import DataLoader from 'dataloader';
import { getBreakers, type BreakerState } from '../registry/breakers/index.js';
import { getComponentsByReferences, getComponentsDependingOn, referencesOf, type Component } from '../registry/components/index.js';
import { getHealthChecksByServiceIds, type HealthCheck } from '../registry/health/index.js';
import { isConnectionError, type Db } from '../db/handle.js';
import type { ExecutionCounters } from './context.js';
import { getLeases, type Lease } from '../registry/services/index.js';

/**
 * Batch loaders for graph fields, created per request (a cache must not outlive
 * the request that filled it). Each turns the N lookups of one execution tick
 * into one query.
 */
export interface Loaders {
  /** Every component a dependency reference may mean: the one with that id, every version with that name. */
  componentsByReference: DataLoader<string, Component[]>;
  /** Components that declare a dependency on a reference (an id or a name). */
  componentsDependingOn: DataLoader<string, Component[]>;
  /** The health checks of an instance. */
  checksByService: DataLoader<string, HealthCheck[]>;
  /** An instance's circuit breaker (undefined: never reported on, so closed). */
  breakersByService: DataLoader<string, BreakerState | undefined>;
  /** An instance's current lease (heartbeats renew it without events, so it is read from the table). */
  leasesById: DataLoader<string, Lease | undefined>;
}

/**
 * Each loader is made on first use: most operations need none of them (a
 * subscription gets a set per event). Every batch query is counted in
 * `counters.loaderQueries`.
 */
export function createLoaders(db: Db, counters: Pick<ExecutionCounters, 'loaderQueries'>): Loaders {
  return new RequestLoaders(db, counters);
}

class RequestLoaders implements Loaders {
  #componentsByReference?: Loaders['componentsByReference'];
  #componentsDependingOn?: Loaders['componentsDependingOn'];
  #checksByService?: Loaders['checksByService'];
  #breakersByService?: Loaders['breakersByService'];
  #leasesById?: Loaders['leasesById'];

  constructor(
    private readonly db: Db,
    private readonly counters: Pick<ExecutionCounters, 'loaderQueries'>,
  ) {}

  /**
   * The batch's query, counted. A read is idempotent, so one that meets a broken connection is
   * sent once more: right after PostgreSQL restarts, the pool may still hand out a connection the
   * restart closed, and a subscriber's push would otherwise fail for it (a database that is
   * really down fails the second try as fast as the first).
   */
  private async read<T>(query: (db: Db) => Promise<T>): Promise<T> {
    this.counters.loaderQueries += 1;
    try {
      return await query(this.db);
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      this.counters.loaderQueries += 1;
      return query(this.db);
    }
  }

  get componentsByReference(): Loaders['componentsByReference'] {
    return (this.#componentsByReference ??= new DataLoader(async (references) =>
      groupBy(references, await this.read((db) => getComponentsByReferences(db, references)), referencesOf),
    ));
  }

  get componentsDependingOn(): Loaders['componentsDependingOn'] {
    return (this.#componentsDependingOn ??= new DataLoader(async (names) =>
      groupBy(names, await this.read((db) => getComponentsDependingOn(db, names)), (component) => component.dependencyNames),
    ));
  }

  get checksByService(): Loaders['checksByService'] {
    return (this.#checksByService ??= new DataLoader(async (ids) =>
      groupBy(ids, await this.read((db) => getHealthChecksByServiceIds(db, ids)), (check) => [check.serviceId]),
    ));
  }

  get breakersByService(): Loaders['breakersByService'] {
    return (this.#breakersByService ??= new DataLoader(async (ids) => {
      const breakers = await this.read((db) => getBreakers(db, ids));
      return ids.map((id) => breakers.get(id));
    }));
  }

  get leasesById(): Loaders['leasesById'] {
    return (this.#leasesById ??= new DataLoader(async (ids) => {
      const leases = await this.read((db) => getLeases(db, ids));
      return ids.map((id) => leases.get(id));
    }));
  }
}

/** One list per key, in key order; a row lands under every key it belongs to. */
function groupBy<T>(keys: readonly string[], rows: readonly T[], keysOf: (row: T) => readonly string[]): T[][] {
  const groups = new Map<string, T[]>(keys.map((key) => [key, []]));
  for (const row of rows) for (const key of keysOf(row)) groups.get(key)?.push(row);
  return keys.map((key) => groups.get(key)!);
}
