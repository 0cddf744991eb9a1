import { Kind, type DocumentNode, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { Client as WsClient } from 'graphql-ws';
import { connectionFailure, SwitchboardRequestError } from './errors.js';

type Received<Result> = { result: FormattedExecutionResult<Result, unknown> } | { error: unknown } | { complete: true };

/**
 * One subscription as an async iterator. When `resumable`, every re-subscription after a reconnect asks
 * for what follows the last event received (`after` = its id), so the caller sees each event once, in order.
 */
export function subscription<Result>(ws: WsClient, query: string, variables: Record<string, unknown>, resumable: boolean): AsyncIterableIterator<Result> {
  let lastEventId: string | undefined;
  const payload = {
    query,
    // graphql-ws sends this same payload again after each reconnect, serialising it anew: the getter makes the
    // re-subscription start after the last event received. The original `after` would repeat every event since
    // it, and no `after` would miss those of the outage.
    get variables() {
      return lastEventId === undefined ? variables : { ...variables, after: lastEventId };
    },
  };

  const received: Received<Result>[] = [];
  let wake: (() => void) | undefined;
  const receive = (item: Received<Result>) => {
    received.push(item);
    wake?.();
  };
  // The cursor moves when an event arrives, not when the caller takes it: events still queued here at a
  // reconnect must not be asked for again.
  const unsubscribe = ws.subscribe<Result>(payload, {
    next: (result) => {
      if (resumable) lastEventId = eventIdOf(result.data) ?? lastEventId;
      receive({ result });
    },
    error: (error) => receive({ error }),
    complete: () => receive({ complete: true }),
  });

  let finished = false;
  return {
    async next() {
      while (received.length === 0 && !finished) await new Promise<void>((resolve) => (wake = resolve));
      const item = received.shift();
      if (finished || item === undefined || 'complete' in item) return finish();
      if ('error' in item) {
        finish();
        // The server refused the subscription (graphql-ws "error" message): a list of GraphQL errors.
        if (Array.isArray(item.error)) throw new SwitchboardRequestError(item.error as GraphQLFormattedError[]);
        throw connectionFailure(item.error);
      }
      if (item.result.errors?.length) throw new SwitchboardRequestError(item.result.errors);
      return { done: false, value: item.result.data as Result };
    },
    async return() {
      return finish();
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };

  function finish(): IteratorReturnResult<undefined> {
    finished = true;
    unsubscribe();
    wake?.();
    return { done: true, value: undefined };
  }
}

/** Whether the subscription takes a cursor: its operation declares `$after`. */
export function takesAfter(document: DocumentNode): boolean {
  return document.definitions.some(
    (definition) =>
      definition.kind === Kind.OPERATION_DEFINITION && definition.variableDefinitions?.some((variable) => variable.variable.name.value === 'after'),
  );
}

/** The id of the event a payload reports: its one root field's `eventId` (or `id`, for `events`). */
function eventIdOf(data: unknown): string | undefined {
  const root: unknown = data && typeof data === 'object' ? Object.values(data)[0] : undefined;
  if (!root || typeof root !== 'object') return undefined;
  const id = 'eventId' in root ? root.eventId : 'id' in root ? root.id : undefined;
  return typeof id === 'string' ? id : undefined;
}
