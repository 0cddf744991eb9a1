import { parseDuration } from '@switchboard/contracts';
import type { EventFeed } from '../events/feed.js';
import { callAt } from '../timers.js';
import { ConsulError } from './errors.js';

/** Consul's defaults: a blocking query waits 5 minutes unless told, 10 at most. */
export const DEFAULT_WAIT_MS = 5 * 60_000;
export const MAX_WAIT_MS = 10 * 60_000;

export interface BlockingQuery {
  /** Answer once the answer's index is above this. */
  index: number;
  /** How long to wait for that, jitter included. */
  waitMs: number;
}

/**
 * `?index=N&wait=D` as Consul reads them: no index (or 0) means "answer now"; `wait` is a Go
 * duration ("120000ms", "30s", "5m"), 5 minutes when absent, capped at 10, and up to 1/16 of
 * it is added at random so that clients woken together do not come back together.
 */
export function parseBlocking(query: URLSearchParams, random: () => number = Math.random): BlockingQuery | undefined {
  const indexText = query.get('index');
  const waitText = query.get('wait');
  let waitMs = DEFAULT_WAIT_MS;
  if (waitText !== null) {
    const parsed = parseDuration(waitText);
    if (parsed === undefined || parsed < 0)
      throw new ConsulError(400, `Invalid wait time: "${waitText.slice(0, 64)}" is not a duration such as "30s" or "5m".`);
    waitMs = Math.min(parsed, MAX_WAIT_MS);
  }
  if (indexText === null) return undefined;
  if (!/^\d{1,19}$/.test(indexText)) throw new ConsulError(400, `Invalid index: "${indexText.slice(0, 64)}" is not a non-negative integer.`);
  const index = Number(indexText);
  if (index === 0) return undefined;
  return { index, waitMs: waitMs + Math.floor(random() * (waitMs / 16)) };
}

/**
 * Waits until `currentIndex()` passes `query.index`, the wait is over, the feed closes
 * (shutdown) or `signal` aborts (the client left). It sleeps on the event feed and looks
 * at the index only when an event arrives: `currentIndex` reads memory, so a blocked
 * request costs no database query, however long it waits.
 */
export async function waitForIndex(feed: EventFeed, query: BlockingQuery, currentIndex: () => number, signal: AbortSignal): Promise<void> {
  if (currentIndex() > query.index || signal.aborted) return;
  // The wait's end is a timer held here (Node's timer list keeps it), not a signal: on Node 20,
  // `AbortSignal.any([signal, AbortSignal.timeout(ms)])` holds the timeout signal only weakly, a
  // garbage collection takes it, and the wait never ends. callAt re-arms past
  // setTimeout's 2^31−1 ms, should the cap on `wait` ever allow that long.
  const over = new AbortController();
  const end = () => over.abort();
  const cancelTimer = callAt(new Date(Date.now() + query.waitMs), end);
  signal.addEventListener('abort', end, { once: true });
  try {
    while (!over.signal.aborted && !feed.isClosed) {
      await nextEvent(feed, over.signal);
      if (currentIndex() > query.index) return;
    }
  } finally {
    cancelTimer();
    signal.removeEventListener('abort', end);
  }
}

/** Resolves when the feed applies an event after its head, or when `signal` aborts. */
function nextEvent(feed: EventFeed, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let cancel = () => {};
    const onAbort = () => {
      cancel();
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    cancel = feed.whenEventAfter(feed.head, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
