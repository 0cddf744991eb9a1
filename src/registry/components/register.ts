import { eq, sql } from 'drizzle-orm';
import { notFound, type ComponentInput } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { components } from '../../db/schema/index.js';
import { appendEvents } from '../../events/append.js';
import { assertMayChangeComponent, type Principal } from '../access/index.js';
import { lockOrInsertOne, sameDefinition } from '../upsert.js';
import { parseComponentDefinition } from './definition.js';
import { componentRegisteredEvent, componentUnregisteredEvent } from './events.js';
import type { Component } from './model.js';

/**
 * Registers a component, or updates it when the id exists. Dependencies need not
 * be registered yet: components arrive in any order, and the graph queries say
 * what is missing. An unchanged re-registration writes no event.
 */
export async function registerComponent(db: Db, input: ComponentInput, principal: Principal): Promise<Component> {
  const definition = parseComponentDefinition(input);
  assertMayChangeComponent(principal, definition.id);
  return runTransaction(db, async (tx) => {
    const { row: existing, created } = await lockOrInsertOne(tx, components, definition);
    if (created) {
      await appendEvents(tx, [componentRegisteredEvent(existing, true)]);
      return existing;
    }
    if (sameDefinition(existing, definition)) return existing;
    const [updated] = await tx
      .update(components)
      .set({ ...definition, updatedAt: sql`now()` })
      .where(eq(components.id, definition.id))
      .returning();
    await appendEvents(tx, [componentRegisteredEvent(updated!, false)]);
    return updated!;
  });
}

/** Removes a component; NOT_FOUND when unknown (asked by one who may own it), FORBIDDEN when not the caller's. */
export async function unregisterComponent(db: Db, id: string, principal: Principal): Promise<Component> {
  assertMayChangeComponent(principal, id);
  return runTransaction(db, async (tx) => {
    const [removed] = await tx.delete(components).where(eq(components.id, id)).returning();
    if (!removed) throw notFound('Component', id);
    await appendEvents(tx, [componentUnregisteredEvent(removed)]);
    return removed;
  });
}
