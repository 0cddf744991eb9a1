import semver from 'semver';
import { badInput } from '@switchboard/contracts';
import type { DiscoveredInstance, InstanceFilter } from './types.js';

const MAX_FILTER_TAGS = 64;

/** A filter checked once: its range validated as the server validates `discoverServices(version:)`. */
export interface CompiledFilter {
  passingOnly: boolean;
  tags: readonly string[];
  range: string | undefined;
}

export function compileFilter(filter: InstanceFilter = {}): CompiledFilter {
  const tags = filter.tags ?? [];
  if (tags.length > MAX_FILTER_TAGS) throw badInput(`At most ${MAX_FILTER_TAGS} tags may be filtered on.`, { field: 'tags' });
  return { passingOnly: filter.passingOnly ?? true, tags, range: parseRange(filter.version) };
}

export function matches(instance: DiscoveredInstance, filter: CompiledFilter): boolean {
  if (filter.passingOnly && instance.health.status !== 'PASSING') return false;
  if (!filter.tags.every((tag) => instance.tags.includes(tag))) return false;
  return filter.range === undefined || (instance.version !== null && semver.satisfies(instance.version, filter.range));
}

function parseRange(version: string | undefined): string | undefined {
  if (version === undefined || version.trim() === '') return undefined;
  const range = version.length <= 256 ? semver.validRange(version) : null;
  if (!range) throw badInput(`"${version.slice(0, 64)}" is not a semver range (try "^1.2", ">=2.0.0 <3" or "1.x").`, { field: 'version' });
  return range;
}
