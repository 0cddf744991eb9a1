import type { Db } from '../db/client.js';
import type { EventFeed } from '../events/feed.js';
import type { BreakerConfig, OutcomeReporter } from '../registry/breakers/index.js';
import type { Principal } from '../registry/access/index.js';
import type { ConfigWriteOptions } from '../registry/config/index.js';
import type { HealthOptions } from '../registry/health/index.js';
import type { RoundRobin } from '../registry/selection/index.js';
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
}

/** What resolvers get: the shared handles, who is asking, and this request's batch loaders. */
export interface GraphQLContext extends RegistryContext {
  principal: Principal;
  loaders: Loaders;
}
