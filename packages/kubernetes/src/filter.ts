import semver from 'semver';
import { badInput } from '@switchboard/contracts';
import type { DiscoveryFilter, ServiceInstance } from '@switchboard/sdk';

const MAX_FILTER_TAGS = 64;

/**
 * A discovery filter as the server applies it to `discoverServices`: passing only (default false), every
 * tag, and a semver range (an instance without a version does not match one). A range that is not one
 * fails BAD_USER_INPUT, as on the server.
 */
export function filterInstances(instances: readonly ServiceInstance[], filter: DiscoveryFilter): ServiceInstance[] {
  const tags = filter.tags ?? [];
  if (tags.length > MAX_FILTER_TAGS) throw badInput(`At most ${MAX_FILTER_TAGS} tags may be filtered on.`, { field: 'tags' });
  const range = rangeOf(filter.version);
  return instances.filter(
    (instance) =>
      (!filter.passingOnly || instance.health.status === 'PASSING') &&
      tags.every((tag) => instance.tags.includes(tag)) &&
      (range === undefined || (instance.version !== null && semver.satisfies(instance.version, range))),
  );
}

function rangeOf(version: string | undefined): string | undefined {
  if (version === undefined || version.trim() === '') return undefined;
  const range = version.length <= 256 ? semver.validRange(version) : null;
  if (!range) throw badInput(`"${version.slice(0, 64)}" is not a semver range (try "^1.2", ">=2.0.0 <3" or "1.x").`, { field: 'version' });
  return range;
}
