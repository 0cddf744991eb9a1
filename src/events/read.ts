import { and, asc, sql, type SQL } from 'drizzle-orm';
import { badInput, SwitchboardError } from '@switchboard/contracts';
import { eventLogState, events as eventsTable } from '../db/schema/index.js';
import type { Executor } from '../db/client.js';
import { parseCursor, sqlTypeFilters, validateTypeFilters, type EventFilter } from './filter.js';
import type { StoredEvent } from './types.js';

export interface ReadEventsOptions {
  after: number;
  /** Read no further than this id (inclusive). */
  upTo?: number | undefined;
  limit: number;
  filter?: EventFilter | undefined;
}

export interface EventsPage {
  events: StoredEvent[];
  /**
   * Where the next read continues. When the page is not full it is `upTo`: every
   * event up to there has been considered, matching or not, so a filtered reader
   * does not rescan the events it skipped.
   */
  nextCursor: number;
}

/** Events after a cursor, ascending by id (= commit order). */
export async function readEvents(db: Executor, options: ReadEventsOptions): Promise<EventsPage> {
  const conditions: SQL[] = [sql`id > ${options.after}`];
  if (options.upTo !== undefined) conditions.push(sql`id <= ${options.upTo}`);
  const { types, dataContains, dataPrefix, dataIn } = options.filter ?? {};
  if (types) {
    const { exact, likePrefixes } = sqlTypeFilters(types);
    conditions.push(sql`(type = any(${pgTextArray(exact)}::text[]) or type like any(${pgTextArray(likePrefixes)}::text[]))`);
  }
  if (dataContains) conditions.push(sql`data @> ${JSON.stringify(dataContains)}::jsonb`);
  if (dataPrefix) conditions.push(sql`starts_with(data ->> ${dataPrefix.field}::text, ${dataPrefix.prefix}::text)`);
  if (dataIn) conditions.push(sql`data ->> ${dataIn.field}::text = any(${pgTextArray([...dataIn.values])}::text[])`);

  const events: StoredEvent[] = await db
    .select()
    .from(eventsTable)
    .where(and(...conditions))
    .orderBy(asc(eventsTable.id))
    .limit(options.limit);
  const full = events.length === options.limit;
  const nextCursor = full || options.upTo === undefined ? (events.at(-1)?.id ?? options.after) : options.upTo;
  return { events, nextCursor };
}

/** The newest event id ever committed (still there, or already pruned). */
export async function latestEventId(db: Executor): Promise<number> {
  const [row] = await db.execute<{ id: string | null }>(sql`select greatest((select max(id) from events), (select pruned_through from event_log_state)) as id`);
  return Number(row?.id ?? 0);
}

/**
 * A text[] literal. Drizzle expands JS arrays in sql`` into parameter lists, so
 * arrays travel as one literal parameter instead.
 */
export function pgTextArray(values: readonly string[]): string {
  return `{${values.map((value) => `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
}

export interface ListEventsQuery {
  types?: readonly string[] | null | undefined;
  after?: string | null | undefined;
  first?: number | null | undefined;
}

export const EVENT_PAGE_DEFAULT = 100;
export const EVENT_PAGE_MAX = 1000;

/** The `events` query: a page of the log after a cursor, oldest first. */
export async function listEvents(db: Executor, query: ListEventsQuery): Promise<StoredEvent[]> {
  const first = query.first ?? EVENT_PAGE_DEFAULT;
  if (!Number.isInteger(first) || first < 1 || first > EVENT_PAGE_MAX) {
    throw badInput(`first must be from 1 to ${EVENT_PAGE_MAX}.`, { field: 'first' });
  }
  const types = validateTypeFilters(query.types);
  const after = parseCursor(query.after) ?? 0;
  const page = await readEvents(db, { after, limit: first, filter: { types } });
  await assertResumable(db, after);
  return page.events;
}

/**
 * Refuses a cursor that retention has pruned past: the events right after it are
 * gone, and pretending otherwise would be a silent gap. Called after the read it
 * guards, so a prune that committed before that read is seen here.
 */
export async function assertResumable(db: Executor, after: number): Promise<void> {
  const [state] = await db.select({ prunedThrough: eventLogState.prunedThrough }).from(eventLogState);
  const prunedThrough = state?.prunedThrough ?? 0;
  if (after < prunedThrough) {
    throw new SwitchboardError(
      'CURSOR_EXPIRED',
      `Events up to ${prunedThrough} have been pruned by retention, so the events after ${after} are no longer all there. ` +
        'Resynchronise: read the current state, then subscribe with after set to latestEventId.',
      { after: String(after), prunedThrough: String(prunedThrough) },
    );
  }
}
