import { eq, sql } from 'drizzle-orm';
import { isDeepStrictEqual } from 'node:util';
import type { Db } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { services } from '../../db/schema.js';
import { appendEvents } from '../../events/append.js';
import { removeChecksNotIn, upsertChecks } from '../health/checks.js';
import { parseCheckDefinition, type CheckPolicy } from '../health/definition.js';
import { parseServiceDefinition, type ServiceDefinition, type ServiceDefinitionInput } from './definition.js';
import type { NewEvent } from '../../events/types.js';
import { assertMayChangeInstance, type Principal } from '../access/principal.js';
import { registeredEvent } from './events.js';
import type { ServiceInstance } from '../instances/model.js';

/** The lease end for a TTL, computed by the database so every node agrees on "now". */
export const leaseEnd = (ttlMs: number | null) =>
  ttlMs === null ? null : sql`now() + ${ttlMs}::int * interval '1 millisecond'`;

/**
 * Registers an instance, or updates it when the id exists (upsert). Registration
 * also renews the lease, like a heartbeat.
 *
 * Re-registering an unchanged definition writes no event: agents re-register on
 * every restart and periodically, and watchers should not wake for nothing
 * (Consul skips such no-op writes too). Health checks given with the definition are
 * added or updated by id in the same transaction; others the instance has stay,
 * unless `replaceExistingChecks` asks for them to be removed.
 */
export async function registerService(db: Db, input: ServiceDefinitionInput, policy: CheckPolicy, principal?: Principal): Promise<ServiceInstance> {
  const definition = parseServiceDefinition(input);
  const checks = (input.healthChecks ?? []).map((check) => parseCheckDefinition(definition.id, check, policy));
  assertMayChangeInstance(principal, definition.name);
  return runTransaction(db, async (tx) => {
    const outbox: NewEvent[] = [];
    let instance: ServiceInstance;
    for (;;) {
      const [existing] = await tx.select().from(services).where(eq(services.id, definition.id)).for('update');
      if (!existing) {
        // Two first registrations of one id can race; the loser's insert does nothing
        // and the loop comes back to update the winner's row (and check who owns it).
        const [created] = await tx
          .insert(services)
          .values({ ...definition, lastHeartbeatAt: sql`now()`, expiresAt: leaseEnd(definition.ttlMs) })
          .onConflictDoNothing({ target: services.id })
          .returning();
        if (!created) continue;
        outbox.push(registeredEvent(created, true));
        instance = created;
        break;
      }
      // Under the row lock: a token may not take over an id registered under another name.
      assertMayChangeInstance(principal, existing.name);
      const changed = !sameDefinition(existing, definition);
      const [updated] = await tx
        .update(services)
        .set({
          ...(changed ? { ...definition, updatedAt: sql`now()` } : {}),
          lastHeartbeatAt: sql`now()`,
          expiresAt: leaseEnd(definition.ttlMs),
        })
        .where(eq(services.id, definition.id))
        .returning();
      if (changed) outbox.push(registeredEvent(updated!, false));
      instance = updated!;
      break;
    }
    // The registration's event first, then its checks' health events; appended last of all.
    // `instance` is the row this transaction just wrote: it holds the row lock the check writes need.
    if (checks.length) instance = (await upsertChecks(tx, instance, checks, outbox)).instance;
    if (input.replaceExistingChecks) instance = await removeChecksNotIn(tx, instance, checks.map((check) => check.id), outbox);
    await appendEvents(tx, outbox);
    return instance;
  });
}

export function sameDefinition(existing: ServiceInstance, next: ServiceDefinition): boolean {
  return (Object.keys(next) as (keyof ServiceDefinition)[]).every((key) => isDeepStrictEqual(existing[key], next[key]));
}
