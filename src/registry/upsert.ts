import { inArray, type InferSelectModel } from 'drizzle-orm';
import type { PgColumn, PgInsertValue, PgTable } from 'drizzle-orm/pg-core';
import { isDeepStrictEqual } from 'node:util';
import type { Tx } from '../db/client.js';

/** A table whose primary key is a text `id`. */
type KeyedTable = PgTable & { id: PgColumn };

/** A row locked by lockOrInsert, and whether that call inserted it. */
export interface LockedRow<Row> {
  row: Row;
  created: boolean;
}

/**
 * The first half of every upsert: each row `values` names (distinct ids), locked for the
 * rest of the transaction: as stored, or inserted from `values` when there was none.
 * Existing rows are locked in id order, so two writers of overlapping ids cannot deadlock.
 * The caller then decides, under the lock, whether and how to update the existing ones.
 *
 * Two first writes of one id can race: the loser's insert does nothing (rather than fail
 * on the primary key) and the next round locks the winner's row, which it then updates.
 */
export async function lockOrInsert<T extends KeyedTable>(
  tx: Tx,
  table: T,
  values: readonly (PgInsertValue<T> & { id: string })[],
): Promise<Map<string, LockedRow<InferSelectModel<T>>>> {
  type Row = InferSelectModel<T> & { id: string };
  const locked = new Map<string, LockedRow<Row>>();
  // Inserts in id order too: two writers inserting the same new ids in different orders could deadlock.
  let pending = [...values].sort((a, b) => (a.id < b.id ? -1 : 1));
  while (pending.length > 0) {
    const ids = pending.map((value) => value.id);
    const existing = (await tx
      .select()
      .from(table as PgTable)
      .where(inArray(table.id, ids))
      .orderBy(table.id)
      .for('update')) as Row[];
    for (const row of existing) locked.set(row.id, { row, created: false });
    const fresh = pending.filter((value) => !locked.has(value.id));
    if (fresh.length === 0) break;
    const created = (await tx.insert(table).values(fresh).onConflictDoNothing({ target: table.id }).returning()) as Row[];
    for (const row of created) locked.set(row.id, { row, created: true });
    pending = fresh.filter((value) => !locked.has(value.id));
  }
  return locked;
}

/** lockOrInsert for one row. */
export async function lockOrInsertOne<T extends KeyedTable>(
  tx: Tx,
  table: T,
  value: PgInsertValue<T> & { id: string },
): Promise<LockedRow<InferSelectModel<T>>> {
  return (await lockOrInsert(tx, table, [value])).get(value.id)!;
}

/**
 * Whether a stored row already holds every field of `definition`: registering it again
 * changes nothing, so it writes nothing and records no event.
 */
export function sameDefinition<D extends object>(stored: { [K in keyof D]: unknown }, definition: D): boolean {
  return (Object.keys(definition) as (keyof D)[]).every((key) => isDeepStrictEqual(stored[key], definition[key]));
}
