import { and, asc, sql, type SQL } from 'drizzle-orm';
import { events as eventsTable } from '../db/schema.js';
import type { Executor } from '../db/client.js';
import { badInput } from '../errors.js';
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
  const { types, dataContains } = options.filter ?? {};
  if (types) {
    const { exact, likePrefixes } = sqlTypeFilters(types);
    conditions.push(sql`(type = any(${pgTextArray(exact)}::text[]) or type like any(${pgTextArray(likePrefixes)}::text[]))`);
  }
  if (dataContains) conditions.push(sql`data @> ${JSON.stringify(dataContains)}::jsonb`);

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

export async function latestEventId(db: Executor): Promise<number> {
  const [row] = await db.execute<{ id: string | null }>(sql`select max(id) as id from events`);
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
  const page = await readEvents(db, { after: parseCursor(query.after) ?? 0, limit: first, filter: { types } });
  return page.events;
}
