import type { Command } from 'commander';
import { EventsDocument, LatestEventIdDocument, OnEventsDocument, type EventsQuery } from '@switchboard/client';
import { action, optionsOf, withConnection } from '../context.js';
import { color, print } from '../output.js';
import { follow } from './follow.js';
import { collect, emit, eventId, examples, inline, integer, time, withClient } from './session.js';

type Event = EventsQuery['events'][number];

interface EventOptions {
  type?: string[];
  after?: string;
}

/** switchboard events tail | list. */
export function registerEventCommands(program: Command): void {
  const events = program.command('events').description('The event log: every change to the registry, in commit order.');

  const tail = events
    .command('tail')
    .description(
      'Print events as they happen, until Ctrl-C. Survives a lost connection or a server restart: it resumes after the last event it printed, so none is lost or printed twice.',
    )
    .option('--type <type>', 'only this type ("service.registered") or prefix ("service.*"); repeat for several', collect)
    .option('--after <id>', 'first replay every event after this id (default: only new events)', eventId)
    .action(
      action(async (_options: unknown, command: Command) => {
        const options = optionsOf<EventOptions>(command);
        const types = options.type ?? null;
        await follow(
          options,
          (client) => {
            // Without --after, start at the newest event: the subscription then has a cursor from the first
            // moment, and an event committed while it connects is not missed.
            const start = options.after ?? client.request(LatestEventIdDocument).then(({ latestEventId }) => latestEventId);
            return streamAfter(start, (after) => client.subscribe(OnEventsDocument, { types, after }));
          },
          ({ events: event }) => (options.json ? print(JSON.stringify(event)) : print(eventLine(event))),
        );
      }),
    );
  examples(withConnection(tail), ['switchboard events tail', 'switchboard events tail --type "service.*" --json', 'switchboard events tail --after 1200']);

  const list = events
    .command('list')
    .description('Print a page of past events, oldest first.')
    .option('--type <type>', 'only this type or prefix; repeat for several', collect)
    .option('--after <id>', 'events after this id (default: from the beginning)', eventId)
    .option('--first <n>', 'how many (1 to 1000)', integer, 100)
    .action(
      action(async (_options: unknown, command: Command) => {
        const options = optionsOf<EventOptions & { first: number }>(command);
        const { events } = await withClient(options, (client) =>
          client.request(EventsDocument, { types: options.type ?? null, after: options.after ?? null, first: options.first }),
        );
        emit(options, events, (rows) => (rows.length === 0 ? print('no events') : rows.forEach((event) => print(eventLine(event)))));
      }),
    );
  examples(withConnection(list), ['switchboard events list --type "config.*" --first 20']);
}

/** One event as a line: id, time, type, who, then its data's top-level fields (--json has all of it). */
export function eventLine(event: Event): string {
  const actor = event.actor ? ` by ${event.actor.name}` : '';
  return `${color.dim(`#${event.id}`)} ${time(event.timestamp)} ${color.bold(event.type)} ${event.source}${actor}  ${fields(event.data)}`;
}

/** `key=value` for each field (--json has all of it). */
function fields(data: unknown): string {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return inline(data);
  return Object.entries(data)
    .filter(([, value]) => value !== null)
    .map(([key, value]) => `${key}=${fieldValue(value)}`)
    .join(' ');
}

/** A word as it is, a phrase quoted; an object or a list (a whole instance) only says whether it is empty. */
function fieldValue(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) || value === '' ? inline(value) : value;
  if (Array.isArray(value)) return value.length === 0 ? '[]' : '[…]';
  if (value && typeof value === 'object') return Object.keys(value).length === 0 ? '{}' : '{…}';
  return inline(value);
}

/**
 * A subscription that can only be opened once `start` (a cursor) is known, as one iterator: `follow` holds
 * it from the start, so a Ctrl-C while the cursor is still being read ends it too.
 */
function streamAfter<T>(start: string | Promise<string>, open: (after: string) => AsyncIterableIterator<T>): AsyncIterableIterator<T> {
  let inner: AsyncIterableIterator<T> | undefined;
  let ended = false;
  // Ended before the cursor came: nothing is opened at all.
  const opened = Promise.resolve(start).then((after) => (ended ? undefined : (inner = open(after))));
  return {
    async next() {
      const stream = await opened;
      if (ended || !stream) return { done: true, value: undefined };
      return stream.next();
    },
    async return() {
      ended = true;
      await inner?.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
