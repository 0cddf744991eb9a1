import { Counter, Gauge, type Registry } from 'prom-client';
import { CircuitEventType } from '@switchboard/contracts';
import type { Db } from '../db/client.js';
import type { EventFeed } from '../events/feed.js';
import { RESERVED_EVENT_PREFIXES } from '../registry/custom-events/publish.js';
import { latestEventId } from '../events/read.js';
import type { StoredEvent } from '../events/types.js';
import type { ExecutionCounters } from '../graphql/context.js';
import { countAlertsAndDeliveries } from '../registry/alerts/index.js';
import type { Catalog } from '../registry/catalog/index.js';
import { countComponents } from '../registry/components/index.js';
import { countConfigEntries } from '../registry/config/index.js';
import type { ScrapeReads } from './scrape.js';

export interface ServerMetricSources {
  db: Db;
  feed: EventFeed;
  catalog: Catalog;
  counters: ExecutionCounters;
  /** The node's scrape-time database reads (shared with the pool's, for switchboard_database_up). */
  reads: ScrapeReads;
}

const CIRCUIT_STATES: Record<string, string> = {
  [CircuitEventType.OPENED]: 'open',
  [CircuitEventType.HALF_OPENED]: 'half_open',
  [CircuitEventType.CLOSED]: 'closed',
};

/**
 * What a serving node reports beyond its process: the catalog (from its in-memory
 * copy, counted at scrape time), counts the database answers cheaply (components,
 * configuration entries, the newest event id), the event log as this server reads
 * it, and what is open on it (subscriptions, WebSocket connections).
 */
export class ServerMetrics {
  /** Open WebSocket connections; the HTTP server sets it once its WebSocket server exists. */
  webSockets: () => number = () => 0;
  private readonly unobserve: () => void;

  constructor(registry: Registry, sources: ServerMetricSources) {
    const { db, feed, catalog, counters } = sources;
    const registers = [registry];
    const read = sources.reads.add(async () => {
      const [newestEventId, components, configEntries, alerting] = await Promise.all([
        latestEventId(db),
        countComponents(db),
        countConfigEntries(db),
        countAlertsAndDeliveries(db),
      ]);
      return { newestEventId, components, configEntries, alerting };
    });

    new Gauge({
      name: 'switchboard_services',
      help: 'Services with at least one registered instance.',
      registers,
      collect() {
        this.set(catalog.serviceCount);
      },
    });
    new Gauge({
      name: 'switchboard_instances',
      help: 'Registered instances by the worst status of their health checks (passing, warning, critical).',
      labelNames: ['status'],
      registers,
      collect() {
        const counts = { PASSING: 0, WARNING: 0, CRITICAL: 0 };
        for (const { instance } of catalog.all()) counts[instance.checkStatus] += 1;
        this.set({ status: 'passing' }, counts.PASSING);
        this.set({ status: 'warning' }, counts.WARNING);
        this.set({ status: 'critical' }, counts.CRITICAL);
      },
    });
    new Gauge({
      name: 'switchboard_instances_in_maintenance',
      help: 'Instances in maintenance mode (left out of passing discovery whatever their checks say).',
      registers,
      collect() {
        let count = 0;
        for (const { instance } of catalog.all()) if (instance.maintenanceSince !== null) count += 1;
        this.set(count);
      },
    });
    new Gauge({
      name: 'switchboard_components',
      help: 'Framework components registered.',
      registers,
      async collect() {
        const facts = await read();
        if (facts) this.set(facts.components);
      },
    });
    new Gauge({
      name: 'switchboard_config_keys',
      help: 'Configuration values stored (a key counts once per environment it is set in).',
      registers,
      async collect() {
        const facts = await read();
        if (facts) this.set(facts.configEntries);
      },
    });
    new Gauge({
      name: 'switchboard_alerts',
      help: 'Alerts by state (pending: its condition holds, waiting out `for`; firing; resolved: one row per rule and label set, kept until the rule is deleted).',
      labelNames: ['state'],
      registers,
      async collect() {
        const facts = await read();
        if (!facts) return;
        for (const state of ['PENDING', 'FIRING', 'RESOLVED']) this.set({ state: state.toLowerCase() }, facts.alerting.alerts[state] ?? 0);
      },
    });
    new Gauge({
      name: 'switchboard_webhook_deliveries',
      help: 'Alert webhook deliveries kept, by status (pending: not yet delivered, retries included; delivered; failed: given up).',
      labelNames: ['status'],
      registers,
      async collect() {
        const facts = await read();
        if (!facts) return;
        for (const status of ['PENDING', 'DELIVERED', 'FAILED']) this.set({ status: status.toLowerCase() }, facts.alerting.deliveries[status] ?? 0);
      },
    });
    new Gauge({
      name: 'switchboard_event_feed_lag_events',
      help: 'Events committed to the log that this server has not read yet (newest event id minus the newest read).',
      registers,
      async collect() {
        const facts = await read();
        if (facts) this.set(Math.max(0, facts.newestEventId - feed.head));
      },
    });
    new Gauge({
      name: 'switchboard_subscriptions_open',
      help: 'GraphQL subscriptions open on this server (WebSocket and SSE).',
      registers,
      collect() {
        this.set(counters.openSubscriptions);
      },
    });
    const webSockets = () => this.webSockets();
    new Gauge({
      name: 'switchboard_websocket_connections_open',
      help: 'WebSocket (graphql-transport-ws) connections open on this server.',
      registers,
      collect() {
        this.set(webSockets());
      },
    });

    const appended = new Counter({
      name: 'switchboard_events_appended_total',
      help: "Events appended to the log (by any server or worker), as this server read them; type: the type of a built-in event, 'published' for any event a client published.",
      labelNames: ['type'],
      registers,
    });
    const transitions = new Counter({
      name: 'switchboard_circuit_breaker_transitions_total',
      help: 'Circuit breaker state changes in the registry (any server or worker), as this server read them from the log, by the state entered.',
      labelNames: ['state'],
      registers,
    });
    for (const state of Object.values(CIRCUIT_STATES)) transitions.inc({ state }, 0);
    this.unobserve = feed.observe((events: readonly StoredEvent[]) => {
      for (const event of events) {
        appended.inc({ type: isBuiltIn(event.type) ? event.type : 'published' });
        const state = CIRCUIT_STATES[event.type];
        if (state !== undefined) transitions.inc({ state });
      }
    });
  }

  stop(): void {
    this.unobserve();
  }
}

/** Types in the namespaces only the registry writes: a fixed set, unlike published types (a label per published type could grow without bound). */
function isBuiltIn(type: string): boolean {
  return RESERVED_EVENT_PREFIXES.some((prefix) => type.startsWith(prefix));
}

/** A counter of catalog reloads; the returned function counts one (the catalog calls it). */
export function countCatalogReloads(registry: Registry): () => void {
  const reloads = new Counter({
    name: 'switchboard_catalog_reloads_total',
    help: 'Full reloads of the in-memory catalog after the first load (each after the LISTEN connection came back, when notifications may have been lost).',
    registers: [registry],
  });
  return () => reloads.inc();
}
