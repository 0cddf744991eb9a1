import { sql } from 'drizzle-orm';
import { check, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.js';

/**
 * Optional per-service scaling policy: how many instances a service name should have.
 * Keyed by name, not by instance, and kept when the service has no instance at all
 * (a service that should run but does not is exactly what it is for).
 */
export const servicePolicies = pgTable(
  'service_policies',
  {
    service: text('service').primaryKey(),
    /** Null: no lower bound. */
    minInstances: integer('min_instances'),
    /** Null: no upper bound. */
    maxInstances: integer('max_instances'),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    check('service_policies_min_check', sql`${t.minInstances} is null or ${t.minInstances} >= 0`),
    check('service_policies_max_check', sql`${t.maxInstances} is null or ${t.maxInstances} >= 0`),
    check('service_policies_range_check', sql`${t.minInstances} is null or ${t.maxInstances} is null or ${t.minInstances} <= ${t.maxInstances}`),
  ],
);

export type ServicePolicyRow = typeof servicePolicies.$inferSelect;
