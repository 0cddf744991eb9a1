import semver from 'semver';
import { badInput } from '@switchboard/contracts';
import { effectiveStatus } from '../health/model.js';
import { parseRange, versionSatisfies, type DiscoverQuery, type ServiceSummary } from '../services/discover.js';
import type { ServiceInstance } from '../instances/model.js';
import type { Catalog } from './catalog.js';

const MAX_FILTER_TAGS = 64;

/**
 * Passing, as far as the catalog knows: every check passing and not in maintenance.
 * A lapsed TTL lease is acted on when the expiry sweep removes the instance.
 */
function isPassing(instance: ServiceInstance): boolean {
  return effectiveStatus(instance) === 'PASSING';
}

/** discoverServices, from memory. */
export function discover(catalog: Catalog, query: DiscoverQuery): ServiceInstance[] {
  const range = parseRange(query.version);
  const tags = query.tags ?? [];
  if (tags.length > MAX_FILTER_TAGS) throw badInput(`At most ${MAX_FILTER_TAGS} tags may be filtered on.`, { field: 'tags' });
  const found: ServiceInstance[] = [];
  for (const { instance } of catalog.byService(query.name)) {
    if (query.passingOnly && !isPassing(instance)) continue;
    if (tags.length > 0 && !tags.every((tag) => instance.tags.includes(tag))) continue;
    if (range && !versionSatisfies(instance.version, range)) continue;
    found.push(instance);
  }
  return found;
}

/** discoverServicesByTag, from memory: by name, then id. */
export function discoverByTag(catalog: Catalog, tag: string, passingOnly = false): ServiceInstance[] {
  const found: ServiceInstance[] = [];
  for (const name of catalog.names()) {
    for (const { instance } of catalog.byService(name)) {
      if (instance.tags.includes(tag) && (!passingOnly || isPassing(instance))) found.push(instance);
    }
  }
  return found;
}

export function instancesByIds(catalog: Catalog, ids: readonly string[]): ServiceInstance[] {
  return ids.flatMap((id) => {
    const entry = catalog.get(id);
    return entry ? [entry.instance] : [];
  });
}

/** One line per service name, from memory. */
export function summarize(catalog: Catalog, prefix?: string | null): ServiceSummary[] {
  return catalog
    .names()
    .filter((name) => !prefix || name.startsWith(prefix))
    .map((name) => {
      const instances = catalog.byService(name).map((entry) => entry.instance);
      return {
        name,
        instances: instances.length,
        passing: instances.filter(isPassing).length,
        versions: semver.rsort([...new Set(instances.flatMap((instance) => instance.version ?? []))]),
        tags: [...new Set(instances.flatMap((instance) => instance.tags))].sort(),
      };
    });
}
