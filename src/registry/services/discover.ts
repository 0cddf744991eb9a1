import { and, arrayContains, asc, eq, gt, inArray, isNull, or, sql, type SQL } from 'drizzle-orm';
import semver from 'semver';
import type { Executor } from '../../db/client.js';
import { pgTextArray } from '../../events/read.js';
import { services } from '../../db/schema.js';
import { badInput } from '../../errors.js';
import type { ServiceInstance } from './model.js';

export interface DiscoverQuery {
  name: string;
  /** Only instances whose health is passing (here: TTL not lapsed). */
  passingOnly?: boolean | null | undefined;
  /** Instances must carry every one of these tags. */
  tags?: readonly string[] | null | undefined;
  /** A semver range (npm syntax: "^2.1", ">=1.4 <2", "1.x"). */
  version?: string | null | undefined;
}

const MAX_FILTER_TAGS = 64;

/** Passing: not in maintenance, every check passing, and no lapsed TTL lease. */
const passing = () =>
  and(isNull(services.maintenanceSince), eq(services.checkStatus, 'PASSING'), or(isNull(services.expiresAt), gt(services.expiresAt, sql`now()`)))!;

export async function discoverServices(db: Executor, query: DiscoverQuery): Promise<ServiceInstance[]> {
  const range = parseRange(query.version);
  const tags = query.tags ?? [];
  if (tags.length > MAX_FILTER_TAGS) throw badInput(`At most ${MAX_FILTER_TAGS} tags may be filtered on.`, { field: 'tags' });

  const conditions: SQL[] = [eq(services.name, query.name)];
  if (tags.length > 0) conditions.push(sql`${services.tags} @> ${pgTextArray(tags)}::text[]`);
  if (query.passingOnly) conditions.push(passing());
  const instances = await db.select().from(services).where(and(...conditions)).orderBy(asc(services.id));
  return range ? instances.filter((instance) => semver.satisfies(instance.version, range)) : instances;
}

export async function discoverServicesByTag(db: Executor, tag: string, passingOnly = false): Promise<ServiceInstance[]> {
  const conditions: SQL[] = [arrayContains(services.tags, [tag])];
  if (passingOnly) conditions.push(passing());
  return db.select().from(services).where(and(...conditions)).orderBy(asc(services.name), asc(services.id));
}

/** Instances by id, in no particular order; missing ids are simply absent. */
export async function getServicesByIds(db: Executor, ids: readonly string[]): Promise<ServiceInstance[]> {
  if (ids.length === 0) return [];
  return db.select().from(services).where(inArray(services.id, [...ids]));
}

export interface ServiceSummary {
  name: string;
  instances: number;
  passing: number;
  versions: string[];
  tags: string[];
}

/** One line per service name: the catalog at a glance. */
export async function listServices(db: Executor, prefix?: string | null): Promise<ServiceSummary[]> {
  const rows = await db.execute<{ name: string; instances: string; passing: string; versions: string[]; tags: string[] }>(sql`
    select name,
           count(*) as instances,
           count(*) filter (where maintenance_since is null and check_status = 'PASSING' and (expires_at is null or expires_at > now())) as passing,
           array_agg(distinct version order by version) as versions,
           coalesce((select array_agg(distinct tag order by tag) from services s2, unnest(s2.tags) tag where s2.name = s.name), '{}') as tags
    from services s
    ${prefix ? sql`where starts_with(name, ${prefix})` : sql``}
    group by name
    order by name
  `);
  return rows.map((row) => ({
    name: row.name,
    instances: Number(row.instances),
    passing: Number(row.passing),
    versions: semver.rsort([...row.versions]),
    tags: row.tags,
  }));
}

/** A validated semver range, or undefined when none was given. */
export function parseRange(version: string | null | undefined): string | undefined {
  if (version == null || version.trim() === '') return undefined;
  const range = version.length <= 256 ? semver.validRange(version) : null;
  if (!range) throw badInput(`"${version.slice(0, 64)}" is not a semver range (try "^1.2", ">=2.0.0 <3" or "1.x").`, { field: 'version' });
  return range;
}
