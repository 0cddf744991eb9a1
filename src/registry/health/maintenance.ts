import { eq, sql } from 'drizzle-orm';
import { badInput, textFaults } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { services } from '../../db/schema/index.js';
import { withOutbox } from '../../events/append.js';
import type { Principal } from '../access/principal.js';
import { lockInstanceToChange } from '../instances/lock.js';
import type { ServiceInstance } from '../instances/model.js';
import { effectiveStatus } from './model.js';
import { recordHealthChange } from './transitions.js';

export interface MaintenanceInput {
  enabled: boolean;
  reason?: string | null | undefined;
}

/**
 * Maintenance takes an instance out of passing discovery without deregistering it
 * (its checks keep running, so it comes back with a current status).
 */
export async function setMaintenance(db: Db, serviceId: string, input: MaintenanceInput, principal: Principal): Promise<ServiceInstance> {
  const reason = input.reason ?? null;
  if (reason !== null && (reason.length > 512 || textFaults(reason).length > 0)) {
    throw badInput('reason must be at most 512 characters of valid Unicode text.', { field: 'reason' });
  }
  return runTransaction(db, async (tx) => {
    const before = await lockInstanceToChange(tx, serviceId, principal);
    const [changed] = await tx
      .update(services)
      .set(
        input.enabled
          ? { maintenanceSince: sql`coalesce(${services.maintenanceSince}, now())`, maintenanceReason: reason }
          : { maintenanceSince: null, maintenanceReason: null },
      )
      .where(eq(services.id, serviceId))
      .returning();
    const switched = Boolean(before.maintenanceSince) !== input.enabled;
    if (!switched && before.maintenanceReason === changed!.maintenanceReason) return changed!;
    const output = input.enabled ? `Maintenance mode ${switched ? 'enabled' : 'reason changed'}${reason ? `: ${reason}` : '.'}` : 'Maintenance mode disabled.';
    // Always an event, even when the status stays critical: catalogs follow maintenance from events.
    return withOutbox(tx, (outbox) =>
      recordHealthChange(tx, before, { checkId: null, checkName: null, from: effectiveStatus(before), to: effectiveStatus(changed!), output }, outbox, true),
    );
  });
}
