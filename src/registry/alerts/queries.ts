import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import type { AlertStateValue } from '@switchboard/contracts';
import type { Executor } from '../../db/client.js';
import { alerts } from '../../db/schema/index.js';
import { toAlert, type Alert } from './model.js';

/** An alert as read, with whether a silence covers it now. */
export type AlertView = Alert & { silenced: boolean };

export interface AlertFilter {
  state?: AlertStateValue | null | undefined;
  ruleId?: string | null | undefined;
}

/**
 * A silence in force now that covers the alert row: its rule (or any) and every label matcher.
 * The alert's columns are qualified: unqualified, rule_id would name the silence's own column.
 */
const silencedNow = sql<boolean>`exists (
  select 1 from alert_silences s
  where (s.rule_id is null or s.rule_id = ${alerts}.${alerts.ruleId})
    and s.starts_at <= now() and s.ends_at > now()
    and ${alerts}.${alerts.labels} @> s.matchers)`;

/** Alerts by state and/or rule, firing first, then by when they started. */
export async function listAlerts(db: Executor, filter: AlertFilter = {}): Promise<AlertView[]> {
  const conditions: SQL[] = [];
  if (filter.state) conditions.push(eq(alerts.state, filter.state));
  if (filter.ruleId) conditions.push(eq(alerts.ruleId, filter.ruleId));
  const rows = await db
    .select({ alert: alerts, silenced: silencedNow })
    .from(alerts)
    .where(and(...conditions))
    .orderBy(sql`case ${alerts.state} when 'FIRING' then 0 when 'PENDING' then 1 else 2 end`, asc(alerts.startsAt), asc(alerts.id));
  return rows.map((row) => ({ ...toAlert(row.alert), silenced: row.silenced }));
}
