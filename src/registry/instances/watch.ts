import type { Db } from '../../db/client.js';
import type { EventFeed } from '../../events/feed.js';
import { parseCursor } from '../../events/filter.js';
import { openEventStream } from '../../events/subscribe.js';
import type { StoredEvent } from '../../events/types.js';

export interface ServiceWatch {
  /** One service name, or every service when absent. */
  name?: string | null | undefined;
  /** Event id to resume after (as the client sent it). */
  after?: string | null | undefined;
}

/**
 * Events of `types` about one service's instances (or every service), as `project` reads them:
 * replayed after `after`, then live. Serves the catalog, health and breaker subscriptions, whose
 * events all carry the instance's service `name`.
 */
export function watchInstanceEvents<T>(
  db: Db,
  feed: EventFeed,
  types: readonly string[],
  watch: ServiceWatch,
  project: (event: StoredEvent) => T,
): Promise<AsyncIterableIterator<T>> {
  return openEventStream(db, feed, {
    after: parseCursor(watch.after),
    filter: { types, dataContains: watch.name ? { name: watch.name } : undefined },
    project,
  });
}
