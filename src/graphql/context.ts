import type { Db } from '../db/client.js';
import type { EventFeed } from '../events/feed.js';
import type { OutcomeReporter } from '../registry/breakers/index.js';
import type { Principal } from '../registry/access/index.js';
import type { Catalog } from '../registry/catalog/index.js';
import type { SelectionState } from '../registry/selection/index.js';
import type { RegistrationWriter } from '../registry/services/index.js';
import type { RegistrySettings } from '../registry/settings.js';
import type { Loaders } from './loaders.js';

/** Shared by every request: handles to the domain's dependencies. */
export interface RegistryContext {
  db: Db;
  feed: EventFeed;
  settings: RegistrySettings;
  /** What this process's selections remember (round-robin positions, busy half-open instances). */
  selection: SelectionState;
  /** Coalesces call-outcome reports into batched breaker writes. */
  outcomes: OutcomeReporter;
  /** Coalesces concurrent registrations into shared transactions. */
  registrations: RegistrationWriter;
  /** The in-memory catalog discovery and selection read. */
  catalog: Catalog;
}

/** What resolvers get: the shared handles, who is asking, and this request's batch loaders. */
export interface GraphQLContext extends RegistryContext {
  principal: Principal;
  loaders: Loaders;
}
