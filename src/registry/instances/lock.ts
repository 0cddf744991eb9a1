import { eq } from 'drizzle-orm';
import { notFound } from '@switchboard/contracts';
import type { Tx } from '../../db/client.js';
import { services } from '../../db/schema/index.js';
import { assertMayChangeInstance, type Principal } from '../access/principal.js';
import type { ServiceInstance } from './model.js';

/** The instance row, locked for the rest of the transaction; undefined when it does not exist. */
export async function lockInstance(tx: Tx, serviceId: string): Promise<ServiceInstance | undefined> {
  const [instance] = await tx.select().from(services).where(eq(services.id, serviceId)).for('update');
  return instance;
}

/**
 * The instance row, locked, for a write on behalf of `principal`: NOT_FOUND when it
 * does not exist, FORBIDDEN when the principal may not change it (checked under the
 * lock, so the owner checked is the owner at commit; see assertMayChangeInstance).
 */
export async function lockInstanceToChange(tx: Tx, serviceId: string, principal: Principal): Promise<ServiceInstance> {
  const instance = await lockInstance(tx, serviceId);
  if (!instance) throw notFound('Service instance', serviceId);
  assertMayChangeInstance(principal, instance);
  return instance;
}
