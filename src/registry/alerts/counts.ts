import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';

export interface AlertCounts {
  /** Alerts by state (PENDING, FIRING, RESOLVED). */
  alerts: Record<string, number>;
  /** Webhook deliveries by status (PENDING, DELIVERED, FAILED). */
  deliveries: Record<string, number>;
}

/** Alerts by state and webhook deliveries by status, in one statement (for a metrics scrape). */
export async function countAlertsAndDeliveries(db: Executor): Promise<AlertCounts> {
  const rows = await db.execute<{ kind: 'alert' | 'delivery'; key: string; count: number }>(sql`
    select 'alert' as kind, state as key, count(*)::int as count from alerts group by state
    union all
    select 'delivery', status, count(*)::int from webhook_deliveries group by status`);
  const counts: AlertCounts = { alerts: {}, deliveries: {} };
  for (const row of rows) (row.kind === 'alert' ? counts.alerts : counts.deliveries)[row.key] = row.count;
  return counts;
}
