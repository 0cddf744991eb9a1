import type { EventFeed } from '../events/feed.js';
import type { OutcomeReporter } from '../registry/breakers/index.js';
import type { Principal } from '../registry/access/index.js';
import type { Catalog } from '../registry/catalog/index.js';
import type { ConfigWriter } from '../registry/config/index.js';
import type { Db } from '../db/handle.js';
import type { SelectionState } from '../registry/selection/index.js';
import type { HeartbeatWriter, RegistrationWriter, SessionBinding } from '../registry/services/index.js';
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
  /** Coalesces concurrent heartbeats (and TTL check passes) into shared transactions. */
  heartbeats: HeartbeatWriter;
  /** Commits concurrent writes to one configuration key together. */
  configWriter: ConfigWriter;
  /** The in-memory catalog discovery and selection read. */
  catalog: Catalog;
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
  /** Subscriptions open on this server now (WebSocket and SSE). */
  openSubscriptions: number;
  /** Queries the batch loaders sent (one per batch): table reads beyond the in-memory catalog. */
  loaderQueries: number;
  /** HTTP operations answered without yoga's fetch-API layer (src/server/direct-operations.ts). */
  directAnswers: number;
}

export function newExecutionCounters(): ExecutionCounters {
  return { compiledRuns: 0, subscriptionExecutions: 0, openSubscriptions: 0, loaderQueries: 0, directAnswers: 0 };
}

/** What resolvers get: the shared handles, who is asking, and this request's batch loaders. */
export interface GraphQLContext extends RegistryContext {
  principal: Principal;
  loaders: Loaders;
  /**
   * The client's address as this server's socket sees it (HTTP request or the
   * WebSocket's upgrade request); undefined when there is no socket (in-process
   * `yoga.fetch`). Behind a proxy it is the proxy's: X-Forwarded-For is not trusted.
   */
  callerAddress: string | undefined;
  /** The WebSocket connection's session, that ephemeral registrations bind to; undefined over HTTP or without a sessionId. */
  session: SessionBinding | undefined;
}
