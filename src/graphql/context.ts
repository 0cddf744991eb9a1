import type { Db } from '../db/client.js';
import type { EventFeed } from '../events/feed.js';

/** What resolvers get: handles to the domain's dependencies, nothing request-specific yet. */
export interface GraphQLContext {
  db: Db;
  feed: EventFeed;
}
