import semver from 'semver';
import { and, arrayOverlaps, asc, eq, inArray, or, type SQL } from 'drizzle-orm';
import { badInput, COMPONENT_TYPES } from '@switchboard/contracts';
import type { Executor } from '../../db/client.js';
import { components } from '../../db/schema/index.js';
import { type Component, type ComponentType } from './model.js';

export async function getComponentsByIds(db: Executor, ids: readonly string[]): Promise<Component[]> {
  if (ids.length === 0) return [];
  return db
    .select()
    .from(components)
    .where(inArray(components.id, [...ids]));
}

/** Every component whose id or name is one of `references` (what a dependency may name), in one query. */
export async function getComponentsByReferences(db: Executor, references: readonly string[]): Promise<Component[]> {
  if (references.length === 0) return [];
  return db
    .select()
    .from(components)
    .where(or(inArray(components.id, [...references]), inArray(components.name, [...references])));
}

/** Components that declare a dependency on any of `names` (ids or names: reverse edges), in one query. */
export async function getComponentsDependingOn(db: Executor, names: readonly string[]): Promise<Component[]> {
  if (names.length === 0) return [];
  return db
    .select()
    .from(components)
    .where(arrayOverlaps(components.dependencyNames, [...names]));
}

export interface ComponentQuery {
  type?: string | null | undefined;
  name?: string | null | undefined;
}

/** The catalogue, by type and/or name: ordered by name, newest version first. */
export async function listComponents(db: Executor, query: ComponentQuery): Promise<Component[]> {
  const conditions: SQL[] = [];
  if (query.type != null) {
    if (!(COMPONENT_TYPES as readonly string[]).includes(query.type)) {
      throw badInput(`"${query.type}" is not a component type; use one of ${COMPONENT_TYPES.join(', ')}.`, { field: 'type' });
    }
    conditions.push(eq(components.type, query.type as ComponentType));
  }
  if (query.name != null) conditions.push(eq(components.name, query.name));
  const rows = await db
    .select()
    .from(components)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(asc(components.name), asc(components.id));
  return rows.sort(byNameThenNewest);
}

function byNameThenNewest(a: Component, b: Component): number {
  return a.name === b.name ? semver.rcompare(a.version, b.version) : a.name < b.name ? -1 : 1;
}

/** Components registered (metrics read this at each scrape: one index-only count). */
export function countComponents(db: Executor): Promise<number> {
  return db.$count(components);
}
