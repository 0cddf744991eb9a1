import { AlertEventType, badInput, type AlertEventData } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import type { EventFeed } from '../../events/feed.js';
import { parseCursor } from '../../events/filter.js';
import { openEventStream } from '../../events/subscribe.js';

/** An alert transition as subscribers see it. */
export interface AlertChange extends AlertEventData {
  eventId: number;
  timestamp: Date;
}

export interface AlertWatch {
  ruleId?: string | null | undefined;
  after?: string | null | undefined;
}

/** alert.firing / alert.resolved (of one rule, or all): replayed after `after`, then live. */
export function watchAlertChanges(db: Db, feed: EventFeed, watch: AlertWatch): Promise<AsyncIterableIterator<AlertChange>> {
  if (watch.ruleId === '') throw badInput('ruleId must not be empty.', { field: 'ruleId' });
  return openEventStream(db, feed, {
    after: parseCursor(watch.after),
    filter: { types: [AlertEventType.FIRING, AlertEventType.RESOLVED], dataContains: watch.ruleId ? { ruleId: watch.ruleId } : undefined },
    project: (event) => ({ ...(event.data as AlertEventData), eventId: event.id, timestamp: event.createdAt }),
  });
}
