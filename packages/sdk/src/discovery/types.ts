import type { DiscoveredInstanceFieldsFragment } from '@switchboard/client';

/**
 * One instance of a service as the registry reported it; `health.status` is what discovery and selection act on.
 * Lease times and check details are not kept (ask `Registry.getService` or `serviceHealth` for them): the server
 * reads them from its tables, which would cost a query per pushed change.
 */
export type DiscoveredInstance = DiscoveredInstanceFieldsFragment;

/** Which of a service's instances to return; the same semantics as the server's `discoverServices`. */
export interface InstanceFilter {
  /** Only instances whose health is PASSING (checks passing, not in maintenance). Default true. */
  passingOnly?: boolean;
  /** Instances must carry every one of these tags. */
  tags?: readonly string[];
  /** A semver range (npm syntax: "^2.1", ">=1.4 <2", "1.x"); an instance without a version matches none. */
  version?: string;
}

/** What discovery knows of a service. */
export interface Discovery {
  instances: DiscoveredInstance[];
  /**
   * True when the registry could not be reached (the push connection is down, or the last query failed):
   * these are the last known instances, current as of `since`.
   */
  stale: boolean;
  /** When stale: the last moment the instances were known to be current. Null when not stale. */
  since: Date | null;
}
