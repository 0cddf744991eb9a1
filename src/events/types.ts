import type { BuiltInEventType, EventActor, EventDataMap } from '@switchboard/contracts';

/** An event as stored and delivered: ids are commit-ordered (see append.ts). */
export interface StoredEvent {
  id: number;
  type: string;
  source: string;
  data: Record<string, unknown>;
  /** Who caused it; null for the registry's own work. */
  actor: EventActor | null;
  createdAt: Date;
}

export interface NewEvent {
  type: string;
  source: string;
  data: Record<string, unknown>;
  /** Who caused it, when not the current write's actor (events of a coalesced batch). */
  actor?: EventActor | null;
}

/** A built-in event as its builder writes it: its data has the shape the contract gives that type. */
export interface NewBuiltInEvent<T extends BuiltInEventType> extends NewEvent {
  type: T;
  data: EventDataMap[T];
}

/** The NOTIFY channel every node LISTENs on. Payload: the highest event id committed. */
export const EVENTS_CHANNEL = 'switchboard_events';

/**
 * A row from hand-written SQL. Through Drizzle, postgres.js hands int8 and
 * timestamps over as text, so the SQL selects `created_at` as ISO-8601.
 */
export interface RawEventRow {
  id: string | number;
  type: string;
  source: string;
  data: Record<string, unknown>;
  actor: EventActor | null;
  created_at: string;
}

export function fromRawRow(row: RawEventRow): StoredEvent {
  return { id: Number(row.id), type: row.type, source: row.source, data: row.data, actor: row.actor, createdAt: new Date(row.created_at) };
}
