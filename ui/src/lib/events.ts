import { useEffect, useRef, useState } from 'preact/hooks';
import { DashboardEventsDocument, DashboardLatestEventIdDocument, DashboardOnEventsDocument, type DashboardEventFragment } from '../generated/graphql';
import { isUnauthenticated, useConnection } from './connection';
import { useSubscription } from './live';

export type DashboardEvent = DashboardEventFragment;

export interface EventTail {
  /** Newest first, at most `keep`. */
  events: DashboardEvent[];
  error: unknown;
  /** The id of the newest event seen (or the log's position when the tail started). */
  lastId: string | undefined;
}

/** How far back the tail looks at first: the events among the last this many of the log (one page of DashboardEvents). */
const BACKFILL = 200;

/**
 * The last events of the log (of `types`, or all) and every new one, live. It starts from the log's
 * position (latestEventId), shows what the last BACKFILL events held, then subscribes after that
 * position: nothing falls between the two. After a lost connection the client re-subscribes after
 * the last event received, so the tail has no gap and no repeat.
 */
export function useEventTail(types: string[] | undefined, options: { keep: number; onEvent?: (event: DashboardEvent) => void }): EventTail {
  const connection = useConnection();
  const typesKey = JSON.stringify(types ?? null);
  const [start, setStart] = useState<{ typesKey: string; after: string } | undefined>(undefined);
  const [events, setEvents] = useState<DashboardEvent[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const onEvent = useRef(options.onEvent);
  onEvent.current = options.onEvent;

  useEffect(() => {
    let cancelled = false;
    setStart(undefined);
    setEvents([]);
    setError(undefined);
    void (async () => {
      try {
        const { latestEventId } = await connection.client.request(DashboardLatestEventIdDocument);
        const from = BigInt(latestEventId) - BigInt(BACKFILL);
        const page = await connection.client.request(DashboardEventsDocument, {
          types: types ?? null,
          after: String(from > 0n ? from : 0n),
        });
        if (cancelled) return;
        // The page may hold events newer than latestEventId (written meanwhile): the subscription replays those.
        const upTo = BigInt(latestEventId);
        setEvents(
          page.events
            .filter((event) => BigInt(event.id) <= upTo)
            .reverse()
            .slice(0, options.keep),
        );
        setStart({ typesKey, after: latestEventId });
      } catch (failure) {
        if (cancelled) return;
        if (isUnauthenticated(failure)) connection.unauthenticated(failure);
        setError(failure);
      }
    })();
    return () => void (cancelled = true);
    // typesKey stands for types (a new array each render, the same list)
  }, [connection, typesKey, options.keep]);

  const live = start?.typesKey === typesKey ? { types: types ?? null, after: start.after } : undefined;
  const subscriptionError = useSubscription(DashboardOnEventsDocument, live, ({ events: event }) => {
    setEvents((previous) => [event, ...previous].slice(0, options.keep));
    onEvent.current?.(event);
  });

  return { events, error: error ?? subscriptionError, lastId: events[0]?.id ?? start?.after };
}
