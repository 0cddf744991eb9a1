import { badInput } from '@switchboard/contracts';
import type { StoredEvent } from './types.js';

/**
 * Which events a reader wants. `types` holds exact types ("service.registered")
 * or prefixes ending in ".*" ("service.*"); `dataContains` keeps events whose
 * data holds these top-level values (for example `{ name: "api" }`).
 */
export interface EventFilter {
  types?: readonly string[] | undefined;
  dataContains?: Readonly<Record<string, string>> | undefined;
  /** Keeps events whose data field (a string) starts with the prefix, e.g. config keys under "api.". */
  dataPrefix?: { field: string; prefix: string } | undefined;
  /** Keeps events whose data field (a string) is one of the values, e.g. any of several service names. */
  dataIn?: { field: string; values: ReadonlySet<string> } | undefined;
}

export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;
const MAX_TYPE_FILTERS = 50;

export function validateTypeFilters(types: readonly string[] | undefined | null): string[] | undefined {
  if (types == null) return undefined;
  if (types.length > MAX_TYPE_FILTERS) throw badInput(`At most ${MAX_TYPE_FILTERS} event types may be filtered on.`);
  for (const type of types) {
    const exact = type.endsWith('.*') ? type.slice(0, -2) : type;
    if (type.length > 200 || !EVENT_TYPE_PATTERN.test(exact)) {
      throw badInput(`"${type.slice(0, 200)}" is not an event type or a prefix like "service.*".`, { field: 'types' });
    }
  }
  return [...types];
}

export function matchesFilter(event: StoredEvent, filter: EventFilter): boolean {
  if (filter.types && !filter.types.some((pattern) => matchesType(event.type, pattern))) return false;
  if (filter.dataContains) {
    for (const [key, value] of Object.entries(filter.dataContains)) {
      if (event.data[key] !== value) return false;
    }
  }
  if (filter.dataPrefix) {
    const value = event.data[filter.dataPrefix.field];
    if (typeof value !== 'string' || !value.startsWith(filter.dataPrefix.prefix)) return false;
  }
  if (filter.dataIn) {
    const value = event.data[filter.dataIn.field];
    if (typeof value !== 'string' || !filter.dataIn.values.has(value)) return false;
  }
  return true;
}

function matchesType(type: string, pattern: string): boolean {
  return pattern.endsWith('.*') ? type.startsWith(pattern.slice(0, -1)) : type === pattern;
}

/** Splits type filters into exact names and LIKE prefixes for SQL. */
export function sqlTypeFilters(types: readonly string[]): { exact: string[]; likePrefixes: string[] } {
  const exact: string[] = [];
  const likePrefixes: string[] = [];
  for (const pattern of types) {
    if (pattern.endsWith('.*')) likePrefixes.push(`${pattern.slice(0, -1).replaceAll('_', '\\_')}%`);
    else exact.push(pattern);
  }
  return { exact, likePrefixes };
}

/** Event cursors are decimal ids; "0" means "from the beginning". */
export function parseCursor(cursor: string | null | undefined): number | undefined {
  if (cursor == null) return undefined;
  if (!/^\d{1,15}$/.test(cursor)) throw badInput(`"${cursor.slice(0, 40)}" is not an event id.`, { field: 'after' });
  return Number(cursor);
}
