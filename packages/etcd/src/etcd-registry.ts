import { networkInterfaces } from 'node:os';
import { formatDuration, notFound, notSupported, parseInput, serviceDefinitionSchema, serviceNameSchema, validateKey } from '@switchboard/contracts';
import {
  toMilliseconds,
  type BackendHealth,
  type CatalogSource,
  type Component,
  type ComponentType,
  type ConfigChangeCallback,
  type ConfigEntry,
  type DiscoveryFilter,
  type EventDefinition,
  type EventHandler,
  type EventType,
  type HealthCheck,
  type HealthStatus,
  type InstancesListener,
  type RegisteredComponent,
  type RegisteredHealthCheck,
  type Registry,
  type RegistryEvent,
  type ServiceDefinition,
  type ServiceInstance,
  type Stop,
  type SubscribeOptions,
  type WatchOptions,
} from '@switchboard/sdk';
import type { Etcd3, IKeyValue } from 'etcd3';
import { EtcdCalls, openClient, streamLost } from './calls.js';
import { byId, compileFilter, decodeEntry, InstanceDecoder, keysOfId, matches, rangeOf, readKey } from './catalog.js';
import * as components from './components.js';
import * as config from './config.js';
import { decodeEvent, eventKey, matchesType, serviceEventOf, validateEvent, validateTypeFilters, whatToFollow } from './events.js';
import { planCheck } from './health-checks.js';
import { hostPort, instanceKey, toInstance, type InstanceRecord } from './instance-record.js';
import { backendName, resolveOptions, type EtcdRegistryOptions, type Prefixes } from './options.js';
import { RangeFollower, type FollowedChange } from './range-follower.js';
import { Registrations } from './registrations.js';

/** Warnings remembered so one bad value is reported once, not at every read (bounded). */
const REMEMBERED_WARNINGS = 1_000;

/**
 * The Registry over etcd v3: each instance a key `<servicePrefix><service>/<id>` under a lease this process
 * keeps alive, in the value layout etcd's gRPC naming resolver reads; discovery a prefix range plus a watch;
 * configuration, events and components under prefixes of their own. See docs/backends/etcd.md.
 */
export class EtcdRegistry implements Registry, CatalogSource {
  readonly backend: string;
  /** The etcd3 client in use (the one given, or the registry's own). */
  readonly client: Etcd3;
  private readonly calls: EtcdCalls;
  private readonly prefixes: Prefixes;
  private readonly registrations: Registrations;
  private readonly defaultTtlSeconds: number;
  private readonly eventRetentionMs: number;
  private readonly ownsClient: boolean;
  private readonly warnings = new Set<string>();
  private readonly onWarning: (message: string) => void;
  /** Watches and subscriptions still running: `close()` ends them. */
  private readonly running = new Set<Stop>();
  /** Published events share a lease per tenth of the retention, so they expire without one lease each. */
  private eventLease: { id: Promise<string>; until: number } | undefined;

  constructor(options: EtcdRegistryOptions = {}) {
    const resolved = resolveOptions(options);
    this.backend = backendName(resolved.endpoints);
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? openClient({ ...resolved, username: options.username, password: options.password });
    this.calls = new EtcdCalls(this.client, this.backend, resolved.dialTimeoutMs);
    this.prefixes = resolved.prefixes;
    this.defaultTtlSeconds = resolved.defaultTtlSeconds;
    this.eventRetentionMs = resolved.eventRetentionMs;
    this.onWarning = resolved.onWarning;
    this.registrations = new Registrations(
      this.calls,
      (message) => this.onWarning(message),
      (id) => {
        this.onWarning(`${this.backend}: "${id}" stayed critical past its deregisterCriticalServiceAfter; unregistering it.`);
        void this.unregisterService(id).catch((error: unknown) => this.onWarning(`${this.backend}: unregistering "${id}" failed: ${String(error)}`));
      },
    );
  }

  // Service registration

  async registerService(definition: ServiceDefinition): Promise<ServiceInstance> {
    const { ttl, healthCheck, ...rest } = definition;
    const ttlMs = toMilliseconds(ttl, 'ttl');
    // The server's rules and normalisation (a version's "v" dropped, protocols lower-cased, …).
    const parsed = parseInput(serviceDefinitionSchema, { ...rest, ttlMs }, 'service definition', { ttlMs: 'ttl' });
    const id = parsed.id ?? parsed.name;
    const plan = healthCheck ? planCheck(id, healthCheck, this.backend) : undefined;
    const ttlSeconds = ttlMs == null ? this.defaultTtlSeconds : Math.ceil(ttlMs / 1000);
    const address = parsed.address ?? localAddress();
    const port = parsed.port ?? null;
    const now = new Date().toISOString();
    const record: InstanceRecord = {
      Op: 0,
      Addr: hostPort(address, port),
      Metadata: parsed.metadata,
      id,
      name: parsed.name,
      version: parsed.version ?? null,
      address,
      port,
      tags: [...(parsed.tags ?? [])],
      endpoints: (parsed.endpoints ?? []).map(({ path, method, description }) => ({ path, method, description: description ?? null })),
      protocols: [...(parsed.protocols ?? [])],
      weight: parsed.weight ?? 1,
      priority: parsed.priority ?? 0,
      ttl: formatDuration(ttlSeconds * 1000),
      registeredAt: now,
      updatedAt: now,
      health: { status: 'PASSING', output: '', lastCheck: null, checkCount: 0, failureCount: 0, check: null },
    };
    const written = await this.registrations.register(instanceKey(this.prefixes.services, record.name, id), record, ttlSeconds, plan);
    return { ...toInstance(written), lastHeartbeatAt: now, expiresAt: new Date(Date.parse(now) + ttlSeconds * 1000).toISOString() };
  }

  async unregisterService(serviceId: string): Promise<void> {
    if (await this.registrations.unregister(serviceId)) return;
    const keys = await keysOfId(this.calls, this.prefixes.services, serviceId);
    if (keys.length === 0) throw notFound('Service instance', serviceId);
    // Registered by another process: its key goes; its lease (which may hold other keys) is left to expire.
    for (const key of keys) await this.calls.run(() => this.client.delete().key(key).exec());
  }

  async renewService(serviceId: string): Promise<void> {
    if (await this.registrations.renew(serviceId)) return;
    const kv = await this.findInstance(serviceId);
    if (!kv) throw notFound('Service instance', serviceId);
    // Registered by another process: a keep-alive of its lease (none to renew for a key without one).
    if (kv.lease === '0') return;
    const ttl = await this.calls.run(() => keepAliveOnce(this.client, kv.lease));
    if (ttl === 0) throw notFound('Service instance', serviceId);
  }

  // Service discovery

  async discoverServices(name: string, filter?: DiscoveryFilter): Promise<ServiceInstance[]> {
    const compiled = compileFilter(filter);
    const kvs = await rangeOf(this.calls, this.servicePrefixOf(name));
    return this.instancesOf(kvs).filter((instance) => matches(instance, compiled));
  }

  async discoverServicesByTag(tag: string, filter: Pick<DiscoveryFilter, 'passingOnly'> = {}): Promise<ServiceInstance[]> {
    const compiled = compileFilter({ ...filter, tags: [tag] });
    const kvs = await rangeOf(this.calls, this.prefixes.services);
    return this.instancesOf(kvs).filter((instance) => matches(instance, compiled));
  }

  async getService(serviceId: string): Promise<ServiceInstance | undefined> {
    const kv = await this.findInstance(serviceId);
    const record = kv && decodeEntry(this.prefixes.services, { key: kv.key.toString(), value: kv.value.toString() }, this.warn);
    if (!kv || !record) return undefined;
    const instance = toInstance(record);
    if (kv.lease === '0') return instance;
    // The lease says when the instance expires, and (its TTL restarting at each keep-alive) when it was last renewed.
    const lease = await this.calls.run(() => this.client.leaseClient.leaseTimeToLive({ ID: kv.lease }));
    const remaining = Number(lease.TTL);
    if (remaining < 0) return instance;
    const now = Date.now();
    return {
      ...instance,
      expiresAt: new Date(now + remaining * 1000).toISOString(),
      lastHeartbeatAt: new Date(now - (Number(lease.grantedTTL) - remaining) * 1000).toISOString(),
    };
  }

  // Health checking

  async registerHealthCheck(serviceId: string, check: HealthCheck): Promise<RegisteredHealthCheck> {
    const plan = planCheck(serviceId, check, this.backend);
    const record = await this.registrations.setCheck(serviceId, plan);
    if (!record) {
      if (await this.findInstance(serviceId)) {
        throw notSupported(`${this.backend}: instance "${serviceId}" was registered by another process; its checks run where it was registered.`);
      }
      throw notFound('Service instance', serviceId);
    }
    return { id: plan.id, serviceId, name: plan.name, status: record.health.status, output: record.health.output };
  }

  async getServiceHealth(serviceId: string): Promise<HealthStatus> {
    const kv = await this.findInstance(serviceId);
    const record = kv && decodeEntry(this.prefixes.services, { key: kv.key.toString(), value: kv.value.toString() }, this.warn);
    if (!record) throw notFound('Service instance', serviceId);
    const { status, output, lastCheck, checkCount, failureCount } = record.health;
    return { status, output, lastCheck, checkCount, failureCount };
  }

  // Component registration

  registerComponent(component: Component): Promise<RegisteredComponent> {
    return components.registerComponent(this.calls, this.prefixes.components, component);
  }

  unregisterComponent(componentId: string): Promise<void> {
    return components.unregisterComponent(this.calls, this.prefixes.components, componentId);
  }

  getComponent(componentId: string): Promise<RegisteredComponent | undefined> {
    return components.getComponent(this.calls, this.prefixes.components, componentId, this.warn);
  }

  listComponents(type?: ComponentType): Promise<RegisteredComponent[]> {
    return components.listComponents(this.calls, this.prefixes.components, type, this.warn);
  }

  // Configuration management

  setConfig(key: string, value: unknown): Promise<ConfigEntry> {
    return config.setConfig(this.calls, this.prefixes.config, key, value);
  }

  getConfig(key: string): Promise<unknown> {
    return config.getConfig(this.calls, this.prefixes.config, key, this.warn);
  }

  async watchConfig(key: string, callback: ConfigChangeCallback): Promise<Stop> {
    validateKey(key);
    const value = (entry: FollowedChange['before']) => entry && config.parseConfigValue(entry.key, entry.value, this.warn);
    return this.follow({ key: `${this.prefixes.config}${key}` }, 'mirror', (changes) => {
      for (const change of changes) this.safely(() => callback(key, value(change.before), value(change.after)));
    });
  }

  // Event handling

  async subscribe(eventType: EventType | readonly EventType[], handler: EventHandler, options: SubscribeOptions = {}): Promise<Stop> {
    void options; // The follow never ends by itself: it resumes, or relists, until stopped.
    const patterns = validateTypeFilters(eventType);
    const wanted = (event: RegistryEvent) => patterns.some((pattern) => matchesType(event.type, pattern));
    const deliver = (event: RegistryEvent | undefined) => event && wanted(event) && this.safely(() => handler(event));
    const plan = whatToFollow(patterns);
    const stops: Promise<Stop>[] = [];
    const stored = plan.stored === 'all' ? [this.prefixes.events] : plan.stored === 'none' ? [] : plan.stored.map((type) => `${this.prefixes.events}${type}/`);
    for (const prefix of stored) {
      stops.push(
        this.follow({ prefix }, 'tail', (changes) => {
          for (const { after } of changes) {
            if (!after) continue;
            const event = decodeEvent(after);
            if (typeof event === 'string') this.warn(`skipped the event at "${after.key.slice(0, 200)}": ${event}.`);
            else deliver(event);
          }
        }),
      );
    }
    if (plan.derived) {
      stops.push(
        this.follow({ prefix: this.prefixes.services }, 'mirror', (changes) => {
          for (const change of changes) deliver(serviceEventOf(this.prefixes.services, change));
        }),
      );
    }
    const started = await Promise.allSettled(stops);
    const stopAll = async () => void (await Promise.all(started.map((each) => (each.status === 'fulfilled' ? each.value() : undefined))));
    const failed = started.find((each) => each.status === 'rejected');
    if (failed) {
      await stopAll();
      throw failed.reason;
    }
    return stopAll;
  }

  async publish(event: EventDefinition): Promise<RegistryEvent> {
    const stored = validateEvent(event);
    const lease = await this.calls.run(() => this.leaseForEvents());
    const key = Buffer.from(eventKey(this.prefixes.events, stored.type));
    const response = await this.calls.run(() => this.client.kv.put({ key, value: Buffer.from(JSON.stringify(stored)), lease }));
    return { id: String(response.header.revision), ...stored };
  }

  // Watching and lifecycle

  watchService(name: string, listener: InstancesListener, options: WatchOptions = {}): Promise<Stop> {
    return this.watchInstances(this.servicePrefixOf(name), listener, options);
  }

  watchCatalog(listener: InstancesListener, options: WatchOptions = {}): Promise<Stop> {
    return this.watchInstances(this.prefixes.services, listener, options);
  }

  async health(): Promise<BackendHealth> {
    const started = performance.now();
    try {
      await this.calls.run(() => this.client.maintenance.status());
      return { backend: this.backend, healthy: true, latencyMs: Math.round((performance.now() - started) * 100) / 100, error: null };
    } catch (error) {
      return { backend: this.backend, healthy: false, latencyMs: null, error: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Ends watches and keep-alives (instances expire after their lease), then the client if it is the registry's own. */
  async close(): Promise<void> {
    await Promise.all([...this.running].map((stop) => stop()));
    this.registrations.close();
    if (this.ownsClient) this.client.close();
  }

  private async watchInstances(prefix: string, listener: InstancesListener, options: WatchOptions): Promise<Stop> {
    const decoder = new InstanceDecoder(this.prefixes.services, this.warn);
    let follower: RangeFollower | undefined;
    const deliver = () => {
      const entries = follower!.current();
      decoder.retain(new Set(entries.map((entry) => entry.key)));
      const instances = entries.flatMap((entry) => decoder.decode(entry) ?? []).map(toInstance);
      this.safely(() => listener(instances.sort(byId)));
    };
    const stop = await this.follow({ prefix }, 'mirror', deliver, options.onStale, (started) => {
      follower = started;
      deliver();
    });
    return stop;
  }

  /**
   * Starts a follower of a range (throws when etcd cannot be had), keeps it until stopped or closed.
   * `onStarted` runs once the first read is done, before any change is delivered.
   */
  private async follow(
    range: { prefix: string } | { key: string },
    mode: 'mirror' | 'tail',
    onChanges: (changes: FollowedChange[], current: boolean) => void,
    onStale?: (error: unknown) => void,
    onStarted?: (follower: RangeFollower) => void,
  ): Promise<Stop> {
    let started = false;
    const follower = new RangeFollower(this.calls, {
      range,
      mode,
      onChanges: (changes, current) => started && onChanges(changes, current),
      onStale: (error) => onStale && this.safely(() => onStale(streamLost(this.calls, error))),
      onWarning: this.warn,
    });
    await follower.start();
    onStarted?.(follower);
    started = true;
    const stop = async () => {
      this.running.delete(stop);
      await follower.stop();
    };
    this.running.add(stop);
    return stop;
  }

  /** One lease for the events of a window; events live between the retention and a tenth more. */
  private leaseForEvents(): Promise<string> {
    const now = Date.now();
    if (!this.eventLease || now >= this.eventLease.until) {
      const window = Math.max(1000, Math.round(this.eventRetentionMs / 10));
      // Not kept alive: it ends when the window's last events are due to go.
      const granted = this.calls.client.leaseClient.leaseGrant({ TTL: Math.ceil((this.eventRetentionMs + window) / 1000) }).then((response) => response.ID);
      this.eventLease = { id: granted, until: now + window };
      granted.catch(() => {
        if (this.eventLease?.id === granted) this.eventLease = undefined;
      });
    }
    return this.eventLease.id;
  }

  private servicePrefixOf(name: string): string {
    parseInput(serviceNameSchema, name, 'service name');
    return `${this.prefixes.services}${name}/`;
  }

  private async findInstance(serviceId: string): Promise<IKeyValue | undefined> {
    const owned = this.registrations.owned(serviceId);
    const keys = owned ? [owned.key] : await keysOfId(this.calls, this.prefixes.services, serviceId);
    for (const key of keys) {
      const kv = await readKey(this.calls, key);
      if (kv) return kv;
    }
    return undefined;
  }

  private instancesOf(kvs: readonly IKeyValue[]): ServiceInstance[] {
    return kvs
      .flatMap((kv) => decodeEntry(this.prefixes.services, { key: kv.key.toString(), value: kv.value.toString() }, this.warn) ?? [])
      .map(toInstance)
      .sort(byId);
  }

  /** Reports a problem once (the same message again only after many others). */
  private readonly warn = (message: string) => {
    if (this.warnings.has(message)) return;
    if (this.warnings.size >= REMEMBERED_WARNINGS) this.warnings.clear();
    this.warnings.add(message);
    this.onWarning(`${this.backend}: ${message}`);
  };

  /** A listener that throws must not end a watch: its error is reported and the watch goes on. */
  private safely(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.onWarning(`${this.backend}: a listener threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }
}

/** The address an instance registers with when its definition gives none: the first external IPv4 address. */
function localAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const external = addresses?.find((address) => address.family === 'IPv4' && !address.internal);
    if (external) return external.address;
  }
  return '127.0.0.1';
}

/** One keep-alive of a lease this process does not hold; the TTL etcd answers (0: the lease is gone). */
async function keepAliveOnce(client: Etcd3, leaseId: string): Promise<number> {
  const stream = await client.leaseClient.leaseKeepAlive();
  try {
    const answer = new Promise<number>((resolve, reject) => {
      stream.on('data', (response) => resolve(Number(response.TTL)));
      stream.on('error', reject);
    });
    stream.write({ ID: leaseId });
    return await answer;
  } finally {
    stream.end();
  }
}
