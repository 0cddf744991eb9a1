import { setTimeout as sleep } from 'node:timers/promises';
import {
  DiscoverInstancesDocument,
  LatestEventIdDocument,
  OnDiscoveredInstancesChangedDocument,
  SwitchboardClient,
  SwitchboardRequestError,
  type SwitchboardClientOptions,
} from '@switchboard/client';
import { SwitchboardError } from '@switchboard/contracts';
import { toDiscovered } from '../registry/convert.js';
import type { Registry, Stop } from '../registry/registry.js';
import { CachedService, type HealthChange, type ServiceChange } from './cached-service.js';
import { observedWebSocket } from './connection.js';
import { DiscoveryError } from './errors.js';
import { compileFilter, matches } from './filter.js';
import { DiscoverySnapshot } from './snapshot.js';
import type { Discovery, InstanceFilter } from './types.js';

export interface ServiceDiscoveryOptions {
  /**
   * How to reach the registry: `url` (one server or several), `token`, `webSocketImpl`, `fetch`, … Or a client
   * to share (a SwitchboardRegistry's): its connection cannot be watched, so the cache is not marked stale the
   * moment it drops (only when a subscription or a refresh fails), and `close()` leaves the client open.
   * Or any `Registry` (etcd, Consul, Kubernetes, a MultiRegistry): each service is followed by its
   * `watchService`, and `close()` ends those watches but leaves the registry open. A SwitchboardRegistry
   * is followed through its client, as above.
   */
  registry: SwitchboardClientOptions | SwitchboardClient | Registry;
  /** After this long, a service whose subscription is not live is asked for again on its next lookup (default 30 s). */
  ttlMs?: number;
  /** How long a lookup waits for the registry when nothing is cached (default 5 s); then `DISCOVERY_TIMEOUT`. */
  timeoutMs?: number;
  /** A file to keep the last known instances in, read when the registry cannot be reached (default: none). */
  snapshotPath?: string;
}

export interface LookupOptions {
  /** Overrides the discovery timeout for this lookup. */
  timeoutMs?: number;
}

const DEFAULT_TTL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 5_000;

/**
 * Full-jitter exponential backoff between reconnect attempts, capped at 30 s: a cache must reconnect
 * whenever the registry comes back, so it never gives up (graphql-ws's default wait grows without bound).
 */
const reconnectWait = (retries: number) => sleep(Math.random() * Math.min(30_000, 500 * 2 ** retries));

/** The subscription feeding the cache: which services it was asked for, and how far it got. */
interface ChangeStream {
  services: ReadonlySet<CachedService>;
  /** Every change of these services up to this event id has been applied. */
  position: number;
  stopped: boolean;
  stop(): void;
}

/**
 * Discovers services through a cache fed by push (the seed's `ServiceDiscovery`).
 *
 * The first lookup of a name asks the registry (`discoverServices`) and follows that service's
 * changes and health changes from the same point in the event log; from then on lookups read memory.
 * One subscription (`instancesChanged`) carries the changes of every service followed: a server holds
 * one per client, not two per service. Following one more service replaces it by one for the larger
 * set, resumed from the earliest point any of them needs; a change delivered again is recognised by
 * its event id and skipped. The subscription resumes after a reconnect, so no change is missed and
 * nothing is polled. When the
 * registry cannot be reached, lookups serve the last known instances marked `stale`, from memory or,
 * for a process that starts during an outage, from the snapshot file. Concurrent lookups of a name
 * that is not cached make one request.
 */
export class ServiceDiscovery {
  /** The Switchboard server followed through one multiplexed subscription; undefined for another backend. */
  private readonly client: SwitchboardClient | undefined;
  /** Another backend, whose services are followed by one `watchService` each. */
  private readonly watched: Registry | undefined;
  private readonly watches = new Map<CachedService, Stop>();
  private readonly services = new Map<string, CachedService>();
  private readonly listeners = new Set<(service: string) => void>();
  private readonly snapshot: DiscoverySnapshot | undefined;
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  /** Services whose changes are followed (some perhaps only from the next subscription). */
  private readonly followed = new Set<CachedService>();
  private stream: ChangeStream | undefined;
  private resubscribing = false;
  /** The WebSocket carrying the subscription is open. */
  private connected = false;
  private closed = false;
  /** The client was given: it is not this cache's to close. */
  private readonly sharedClient: boolean;

  constructor(options: ServiceDiscoveryOptions) {
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.snapshot = options.snapshotPath === undefined ? undefined : new DiscoverySnapshot(options.snapshotPath);
    const client = isRegistry(options.registry) ? clientOf(options.registry) : options.registry;
    if (!client) {
      this.watched = options.registry as Registry;
      this.sharedClient = true;
      this.connected = true;
      return;
    }
    this.sharedClient = isClient(client);
    if (isClient(client)) {
      this.client = client;
      // Its subscriptions resume after a reconnect by themselves; one that ends for good marks its services stale.
      this.connected = true;
      return;
    }
    const socket = client.webSocketImpl ?? (globalThis as { WebSocket?: unknown }).WebSocket;
    this.client = new SwitchboardClient({
      retryAttempts: Infinity,
      retryWait: reconnectWait,
      ...client,
      webSocketImpl: observedWebSocket(socket, { open: () => this.connectionOpened(), close: () => this.connectionLost() }),
    });
  }

  /**
   * The instances of `name` that pass `filter` (default: passing only), with whether they are stale.
   * Throws DiscoveryError only when nothing at all is known of the service: `DISCOVERY_TIMEOUT` when the
   * registry did not answer in time, `DISCOVERY_UNAVAILABLE` when it could not be reached. An error the
   * registry answers with (`UNAUTHENTICATED`, `BAD_USER_INPUT`…) is thrown as the client's SwitchboardRequestError.
   */
  async discover(name: string, filter?: InstanceFilter, options: LookupOptions = {}): Promise<Discovery> {
    const compiled = compileFilter(filter);
    const service = await this.lookup(name, options.timeoutMs ?? this.timeoutMs);
    return view(service, compiled);
  }

  /** `discover(name, filter)`'s instances. */
  async instances(name: string, filter?: InstanceFilter, options?: LookupOptions) {
    return (await this.discover(name, filter, options)).instances;
  }

  /** What the cache holds for `name` now, without asking the registry; undefined when it was never looked up. */
  cached(name: string, filter?: InstanceFilter): Discovery | undefined {
    const service = this.services.get(name);
    return service?.hasData ? view(service, compileFilter(filter)) : undefined;
  }

  /** Calls `listener` with the service's name whenever a cached service changes; returns the unsubscribe. */
  onChange(listener: (service: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Ends every subscription and writes the snapshot's last changes. */
  async close(): Promise<void> {
    this.closed = true;
    this.stream?.stop();
    this.stream = undefined;
    this.followed.clear();
    const watches = [...this.watches.values()];
    this.watches.clear();
    await Promise.all(watches.map((stop) => stop().catch(() => {})));
    // graphql-ws's dispose rejects while a reconnect attempt is pending (the registry is down): the
    // subscriptions are gone either way.
    if (!this.sharedClient) await this.client?.close().catch(() => {});
    await this.snapshot?.flush();
  }

  private async lookup(name: string, timeoutMs: number): Promise<CachedService> {
    let service = this.services.get(name);
    if (!service) {
      service = new CachedService(name);
      this.services.set(name, service);
    }
    // A watched backend's watch resumes by itself: a service it follows is live unless its watch said stale.
    const live = this.followed.has(service) && (this.watched ? !service.stale : this.connected);
    if (service.hasData && (live || Date.now() - service.loadedAt < this.ttlMs)) return service;

    const loading = this.load(service);
    if (service.hasData) {
      // Stale-on-error: a refresh that fails or is slow leaves the last known instances, marked stale.
      await withTimeout(loading, timeoutMs).catch(rethrowAnswers);
      return service;
    }
    try {
      await withTimeout(loading, timeoutMs);
    } catch (error) {
      rethrowAnswers(error);
      const saved = await this.snapshot?.read(name);
      // The load may have finished meanwhile; it knows better than the file.
      if (saved && !service.hasData) service.restore(saved.instances, Date.parse(saved.knownAt));
      if (service.hasData) return service;
      if (error instanceof TimedOut) {
        throw new DiscoveryError(
          'DISCOVERY_TIMEOUT',
          name,
          `Discovery of service "${name}" timed out after ${timeoutMs}ms: the registry at ${this.registryName} did not answer.`,
        );
      }
      throw new DiscoveryError(
        'DISCOVERY_UNAVAILABLE',
        name,
        `Discovery of service "${name}" failed: the registry at ${this.registryName} could not be reached (${describe(error)}).`,
        {
          cause: error,
        },
      );
    }
    return service;
  }

  private get registryName(): string {
    return this.client?.url ?? this.watched!.backend;
  }

  /** Asks the registry for the service and follows its changes from there on: one request at a time per service. */
  private load(service: CachedService): Promise<void> {
    if (this.watched) return this.watch(this.watched, service);
    const client = this.client!;
    service.loading ??= (async () => {
      service.loadedAt = Date.now();
      try {
        // The log's position first: the subscription replays from it whatever the query may not have seen.
        const { latestEventId } = await client.request(LatestEventIdDocument);
        const { discoverServices } = await client.request(DiscoverInstancesDocument, { name: service.name, passingOnly: false });
        service.replace(discoverServices, Number(latestEventId));
        service.stale = false;
        service.knownAt = Date.now();
        if (!this.followed.has(service) && !this.closed) this.follow(service);
        this.changed(service);
      } catch (error) {
        if (service.hasData) service.stale = true;
        throw error;
      } finally {
        service.loading = undefined;
      }
    })();
    return service.loading;
  }

  /**
   * Follows the service by the backend's own watch, which delivers the whole set on every change and
   * resumes by itself. Once it runs, a lookup never asks again: a stale service waits for the watch.
   */
  private watch(registry: Registry, service: CachedService): Promise<void> {
    if (this.watches.has(service)) return Promise.resolve();
    service.loading ??= (async () => {
      service.loadedAt = Date.now();
      try {
        const stop = await registry.watchService(
          service.name,
          (instances) => {
            service.replace(instances.map(toDiscovered), 0);
            service.stale = false;
            this.changed(service);
          },
          { onStale: () => this.markStale(service) },
        );
        if (this.closed) return void (await stop());
        this.watches.set(service, stop);
        this.followed.add(service);
      } catch (error) {
        if (service.hasData) service.stale = true;
        throw error;
      } finally {
        service.loading = undefined;
      }
    })();
    return service.loading;
  }

  /** Adds the service to those the subscription carries, from its cursor on. */
  private follow(service: CachedService): void {
    this.followed.add(service);
    if (this.resubscribing) return;
    // Services loaded in the same tick join one new subscription, not one each.
    this.resubscribing = true;
    queueMicrotask(() => {
      this.resubscribing = false;
      this.resubscribe();
    });
  }

  /**
   * Replaces the subscription by one for every followed service. The old one is stopped first, in the
   * same tick, so nothing it still had queued is applied: the new one starts from the earliest cursor
   * of any service and delivers that again, each change once past its service's cursor.
   */
  private resubscribe(): void {
    const previous = this.stream;
    if (previous) {
      previous.stop();
      // Everything of its services up to its position was applied.
      for (const service of previous.services) service.cursor = Math.max(service.cursor, previous.position);
    }
    this.stream = undefined;
    if (this.closed || this.followed.size === 0) return;
    const services = new Set(this.followed);
    const after = Math.min(...[...services].map((service) => service.cursor));
    const changes = this.client!.subscribe(OnDiscoveredInstancesChangedDocument, { names: [...services].map((service) => service.name), after: String(after) });
    const stream: ChangeStream = {
      services,
      position: after,
      stopped: false,
      stop: () => {
        stream.stopped = true;
        void changes.return?.();
      },
    };
    this.stream = stream;
    void this.consume(stream, changes);
  }

  private async consume(stream: ChangeStream, changes: AsyncIterable<{ instancesChanged: ServiceChange | HealthChange }>): Promise<void> {
    try {
      for await (const { instancesChanged: change } of changes) {
        if (stream.stopped) return;
        const eventId = Number(change.eventId);
        stream.position = eventId;
        const service = this.services.get(change.name);
        if (!service || !stream.services.has(service) || eventId <= service.cursor) continue;
        service.cursor = eventId;
        const applied = change.__typename === 'ServiceChange' ? service.applyServiceChange(change) : service.applyHealthChange(change);
        if (applied) this.changed(service);
      }
    } catch {
      // Ended below, whatever the reason.
    }
    if (stream.stopped) return;
    // The registry ended or refused the subscription (its cursor expired, say): the next lookup of each
    // service resynchronises by query and follows it again; until then the instances are the last known ones.
    if (this.stream === stream) this.stream = undefined;
    for (const service of stream.services) {
      this.followed.delete(service);
      this.markStale(service);
      service.loadedAt = 0;
    }
  }

  private connectionOpened(): void {
    this.connected = true;
    // The subscription resumes from its last event: what changed meanwhile is replayed.
    for (const service of this.followed) service.stale = false;
  }

  private connectionLost(): void {
    this.connected = false;
    if (this.closed) return;
    for (const service of this.followed) this.markStale(service);
  }

  private markStale(service: CachedService): void {
    if (service.stale) return;
    service.stale = true;
    service.knownAt = Date.now();
  }

  private changed(service: CachedService): void {
    if (!service.stale) service.knownAt = Date.now();
    this.snapshot?.save(service.name, { knownAt: new Date(service.knownAt).toISOString(), instances: [...service.instances()] });
    for (const listener of this.listeners) listener(service.name);
  }
}

/** By shape: a client made by another copy of @switchboard/client (a bundler's, a test runner's) is one too. */
function isClient(registry: SwitchboardClientOptions | SwitchboardClient): registry is SwitchboardClient {
  return typeof (registry as Partial<SwitchboardClient>).request === 'function';
}

function isRegistry(registry: SwitchboardClientOptions | SwitchboardClient | Registry): registry is Registry {
  return typeof (registry as Partial<Registry>).watchService === 'function';
}

/** The client of a SwitchboardRegistry (by shape: another copy of the SDK may have made it). */
export function clientOf(registry: Registry): SwitchboardClient | undefined {
  const client = (registry as { client?: Partial<SwitchboardClient> }).client;
  // Other backends have clients of their own (EtcdRegistry's etcd3): only Switchboard's has all three.
  const isSwitchboard = typeof client?.request === 'function' && typeof client.subscribe === 'function' && typeof client.requestOverWebSocket === 'function';
  return isSwitchboard ? (client as SwitchboardClient) : undefined;
}

function view(service: CachedService, filter: ReturnType<typeof compileFilter>): Discovery {
  return {
    instances: service.instances().filter((instance) => matches(instance, filter)),
    stale: service.stale,
    since: service.stale ? new Date(service.knownAt) : null,
  };
}

class TimedOut extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new TimedOut()), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The registry answered with an error of its own (not `UNAVAILABLE`): that is not an outage, and a stale
 * answer would hide it (a revoked token, a bad filter).
 */
function rethrowAnswers(error: unknown): void {
  if (error instanceof SwitchboardRequestError && error.code !== undefined && error.code !== 'UNAVAILABLE') throw error;
  // Another backend's answer (credentials refused, registration not supported…), as every backend throws it.
  if (error instanceof SwitchboardError && error.code !== 'UNAVAILABLE') throw error;
}

function describe(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return error instanceof Error ? `${error.message}${cause}` : String(error);
}
