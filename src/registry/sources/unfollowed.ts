import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { pgTextArray } from '../../events/read.js';
import { acquireLeadership, lapseLeadership } from '../leadership/index.js';
import { removeSourceInstances, sourceRole } from './reconcile.js';

/**
 * Sources whose instances are in the catalog but that no server has followed for `graceMs`, other
 * than those this server follows: taken out of every server's SWITCHBOARD_SOURCES, they would
 * otherwise stay for good, read-only, with no one able to remove them. A follower that stops hands
 * its role over by letting it lapse at once (lapseLeadership), so a follower restarting within the
 * grace period (a rolling deploy) keeps its source's instances.
 */
export async function unfollowedSources(db: Db, followed: readonly string[], graceMs: number): Promise<string[]> {
  const rows = await db.execute<{ source: string }>(sql`
    select distinct s.source from services s
    where s.source is not null
      and s.source <> all(${pgTextArray(followed)}::text[])
      and not exists (
        select 1 from leaders l
        where l.name = 'source:' || s.source and l.expires_at > now() - ${graceMs}::int * interval '1 millisecond'
      )
    order by s.source`);
  return rows.map((row) => row.source);
}

/**
 * Removes the instances of a source no server follows any more (reason `deregistered`, and a
 * `detail` saying so), holding the source's role meanwhile, so a server that starts following it
 * at that moment waits for the removal to finish, then brings its instances back. Returns how many
 * it removed; 0 when another process holds the role.
 */
export async function removeUnfollowedSource(db: Db, source: string, holder: string, leaderTtlMs: number): Promise<number> {
  const lease = { source, role: sourceRole(source), holder };
  if (!(await acquireLeadership(db, lease.role, holder, leaderTtlMs))) return 0;
  try {
    return await removeSourceInstances(db, lease, 'deregistered', `source ${source} is followed by no server any more (in no SWITCHBOARD_SOURCES)`);
  } finally {
    await lapseLeadership(db, lease.role, holder);
  }
}
