import { sql } from 'drizzle-orm';
import type { Db } from './client.js';

export interface PoolConnections {
  /** Running a statement or holding a transaction open (this count's own query excluded). */
  inUse: number;
  idle: number;
}

/**
 * This pool's connections as PostgreSQL sees them. postgres.js does not expose how many
 * connections it holds open or busy, so the server is asked: the backends of this
 * database with this pool's application_name (which names the node). The connection
 * asking is itself running a statement, so it is not counted as in use.
 */
export async function poolConnections(db: Db): Promise<PoolConnections> {
  const rows = await db.execute<{ state: string | null; n: string }>(sql`
    select state, count(*) as n from pg_stat_activity
    where datname = current_database() and application_name = current_setting('application_name')
    group by state`);
  let inUse = -1;
  let idle = 0;
  for (const row of rows) {
    if (row.state === 'idle') idle += Number(row.n);
    else if (row.state !== null) inUse += Number(row.n);
  }
  return { inUse: Math.max(0, inUse), idle };
}
