import type { Db } from '../db/client.js';
import type { EventFeed } from '../events/feed.js';
import type { BreakerConfig, OutcomeReporter } from '../registry/breakers/index.js';
import type { Principal } from '../registry/access/index.js';
import type { Catalog } from '../registry/catalog/index.js';
import type { ConfigWriteOptions } from '../registry/config/index.js';
import type { HealthOptions } from '../registry/health/index.js';
import type { RoundRobin } from '../registry/selection/index.js';
import type { RegistrationWriter } from '../registry/services/index.js';
import type { Loaders } from './loaders.js';

/** Settings resolvers pass on to the domain. */
export interface RegistrySettings {
  config: ConfigWriteOptions;
  health: HealthOptions;
  breaker: BreakerConfig;
}

/** Shared by every request: handles to the domain's dependencies. */
export interface RegistryContext {
  db: Db;
  feed: EventFeed;
  settings: RegistrySettings;
  /** This process's round-robin positions. */
  roundRobin: RoundRobin;
  /** Coalesces call-outcome reports into batched breaker writes. */
  outcomes: OutcomeReporter;
  /** Coalesces concurrent registrations into shared transactions. */
  registrations: RegistrationWriter;
  /** The in-memory catalog discovery and selection read. */
  catalog: Catalog;
  /** Half-open instances recently found to have no probe left. */
  halfOpenBusy: Map<string, number>;
  /** How this process served operations (see ExecutionCounters). */
  counters: ExecutionCounters;
}

/**
 * Counts of how operations were executed: what the execution plugins (graphql-jit,
 * shared subscription results) actually did, for diagnostics and for tests that
 * must see the effect of an optimisation, not only its unchanged answers.
 */
export interface ExecutionCounters {
  /** Query and mutation runs answered by a graphql-jit compilation. */
  compiledRuns: number;
  /** Subscription events executed (once per event and operation when results are shared). */
  subscriptionExecutions: number;
}

export function newExecutionCounters(): ExecutionCounters {
  return { compiledRuns: 0, subscriptionExecutions: 0 };
}

/** What resolvers get: the shared handles, who is asking, and this request's batch loaders. */
export interface GraphQLContext extends RegistryContext {
  principal: Principal;
  loaders: Loaders;
}
