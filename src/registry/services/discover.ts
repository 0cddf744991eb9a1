import { inArray } from 'drizzle-orm';
import semver from 'semver';
import { badInput } from '@switchboard/contracts';
import type { Executor } from '../../db/client.js';
import { services } from '../../db/schema/index.js';
import type { ServiceInstance } from '../instances/model.js';

export interface DiscoverQuery {
  name: string;
  /** Only instances whose health is passing. */
  passingOnly?: boolean | null | undefined;
  /** Instances must carry every one of these tags. */
  tags?: readonly string[] | null | undefined;
  /** A semver range (npm syntax: "^2.1", ">=1.4 <2", "1.x"). */
  version?: string | null | undefined;
}

/** Instances by id, in no particular order; missing ids are simply absent. */
export async function getServicesByIds(db: Executor, ids: readonly string[]): Promise<ServiceInstance[]> {
  if (ids.length === 0) return [];
  return db
    .select()
    .from(services)
    .where(inArray(services.id, [...ids]));
}

export interface ServiceSummary {
  name: string;
  instances: number;
  passing: number;
  versions: string[];
  tags: string[];
}

/** A validated semver range, or undefined when none was given. */
export function parseRange(version: string | null | undefined): string | undefined {
  if (version == null || version.trim() === '') return undefined;
  const range = version.length <= 256 ? semver.validRange(version) : null;
  if (!range) throw badInput(`"${version.slice(0, 64)}" is not a semver range (try "^1.2", ">=2.0.0 <3" or "1.x").`, { field: 'version' });
  return range;
}

/** Whether an instance's version is in `range`; an instance registered without a version is in none. */
export function versionSatisfies(version: string | null, range: string): boolean {
  return version !== null && semver.satisfies(version, range);
}

export interface Lease {
  lastHeartbeatAt: Date | null;
  expiresAt: Date | null;
}

/** Current leases of several instances, in one query (heartbeats renew them without events). */
export async function getLeases(db: Executor, ids: readonly string[]): Promise<Map<string, Lease>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: services.id, lastHeartbeatAt: services.lastHeartbeatAt, expiresAt: services.expiresAt })
    .from(services)
    .where(inArray(services.id, [...ids]));
  return new Map(rows.map(({ id, ...lease }) => [id, lease]));
}
