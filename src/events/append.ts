import { sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { AdvisoryLock } from '../db/locks.js';
import { currentActor, noteAppended } from './actor.js';
import { EVENTS_CHANNEL, fromRawRow, type NewEvent, type RawEventRow, type StoredEvent } from './types.js';

/**
 * Appends events inside the caller's transaction and signals other nodes.
 *
 * The trap this avoids: an identity column hands out ids at insert time, not at
 * commit time. Transactions that took ids 10 and 11 may commit 11 first; a reader
 * that saw 11 and later asks for "after 11" would never see 10. So appends take a
 * transaction-scoped advisory lock before the id is drawn; the lock is held until
 * commit, so ids become visible strictly in order. NOTIFY already serializes
 * committing notifiers on a database-wide lock, so the extra cost is small.
 *
 * Call it as the transaction's last statement: the lock is held until commit.
 * One statement (lock, insert, notify) keeps the locked window to one round trip.
 * The NOTIFY payload is only the newest id; listeners read the rows themselves.
 * The actor (who caused the change) comes from the caller's context (actor.ts),
 * unless an event names its own.
 */
export async function appendEvents(tx: Executor, events: readonly NewEvent[], alongside?: Alongside): Promise<StoredEvent[]> {
  if (events.length === 0) return [];
  const rows = await tx.execute<RawEventRow & Record<string, unknown>>(sql`
    with lock as materialized (
      select pg_advisory_xact_lock(${AdvisoryLock.EVENT_APPEND.toString()}::int8)
    ),
    inserted as (
      insert into events (type, source, data, actor)
      select e.value->>'type', e.value->>'source', e.value->'data', e.value->'actor'
      from lock, jsonb_array_elements(${JSON.stringify(withActors(events))}::jsonb) with ordinality as e(value, n)
      order by e.n
      returning id, type, source, data, actor, created_at
    )${alongside ? sql`, alongside as (${alongside(sql`(select min(id) from inserted)`)})` : sql``}
    select id, type, source, data, actor, to_json(created_at) #>> '{}' as created_at,
           (select pg_notify(${EVENTS_CHANNEL}, max(id)::text) from inserted) as notified
    from inserted
    order by id
  `);
  const stored = rows.map(fromRawRow);
  noteAppended(stored.at(-1)!.id);
  return stored;
}

/**
 * A data-modifying statement run inside the append's own statement, given the SQL for the id of the
 * first event appended: how a write keeps the id of its event on its rows (a configuration value's
 * ModifyIndex) with no statement after the append. Unlike a later UPDATE, it adds no round trip
 * while the append lock is held.
 */
export type Alongside = (firstEventId: SQL) => SQL;

/**
 * Runs `write` with an outbox for the events it records (recordHealthChanges and the
 * helpers built on it collect theirs there), then appends them in one statement, as
 * the transaction's last: see appendEvents.
 */
export async function withOutbox<T>(tx: Executor, write: (outbox: NewEvent[]) => Promise<T>): Promise<T> {
  const outbox: NewEvent[] = [];
  const result = await write(outbox);
  await appendEvents(tx, outbox);
  return result;
}

function withActors(events: readonly NewEvent[]): NewEvent[] {
  const actor = currentActor() ?? null;
  return events.map((event) => ('actor' in event ? event : { ...event, actor }));
}
