import { badInput, notFound, notSupported, SwitchboardError } from '@switchboard/contracts';
import {
  validateHealthCheck,
  validateServiceDefinition,
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
  type RegisterOptions,
  type Registry,
  type RegistryEvent,
  type ServiceDefinition,
  type ServiceInstance,
  type Stop,
  type WatchOptions,
} from '@switchboard/sdk';
import semver from 'semver';
import { CatalogWatch, serviceQuery } from './catalog-watch.js';
import { ComponentStore } from './component-store.js';
import { ConfigStore } from './config-store.js';
import { RunningWatches, warnOnce, type RegistryContext } from './context.js';
import { describe } from './errors.js';
import { EventLog } from './event-log.js';
import { ConsulHttp, type ConsulAnswer } from './http.js';
import { checksOf, healthOf, instancesOfHealth, isRecord, toInstance, type ConsulCheck } from './instances.js';
import { Kv } from './kv.js';
import { resolveSettings, type ConsulRegistryOptions, type ConsulSettings } from './options.js';
import { leaseCheckId, toCheckRegistration, toRegistration, validateCheckKind } from './registration.js';

/**
 * The Registry over Consul's HTTP API (an agent, or anything that serves it, Switchboard's /v1 included).
 * Instances are agent services with their checks; discovery reads /v1/health/service; watches are blocking
 * queries; configuration, components and events live in KV under their prefixes. See docs/backends/consul.md.
 */
export class ConsulRegistry implements Registry, CatalogSource {
  private readonly settings: ConsulSettings;
  private readonly http: ConsulHttp;
  private readonly context: RegistryContext;
  private readonly config: ConfigStore;
  private readonly components: ComponentStore;
  private readonly events: EventLog;
  /** The TTL check `renewService` passes, for instances registered through this registry. */
  private readonly ttlChecks = new Map<string, string>();

  constructor(options: ConsulRegistryOptions = {}) {
    this.settings = resolveSettings(options);
    this.http = new ConsulHttp(this.settings);
    this.context = { settings: this.settings, http: this.http, kv: new Kv(this.http), warn: warnOnce(this.settings.warn), running: new RunningWatches() };
    this.config = new ConfigStore(this.context);
    this.components = new ComponentStore(this.context);
    this.events = new EventLog(this.context);
  }

  /** "consul http://127.0.0.1:8500". */
  get backend(): string {
    return this.settings.backend;
  }

  async registerService(definition: ServiceDefinition, options: RegisterOptions = {}): Promise<ServiceInstance> {
    if (options.ephemeral) {
      throw notSupported(
        `${this.backend} cannot bind an instance to a client's connection (ephemeral): Consul keeps services on its agent. Register with a ttl and renew it.`,
      );
    }
    validateServiceDefinition(definition);
    if (definition.healthCheck) validateCheckKind(definition.healthCheck);
    const { body, ttlCheckId } = toRegistration(definition, this.settings, new Date());
    const id = body['ID'] as string;
    await this.http.request({ method: 'PUT', path: '/v1/agent/service/register', json: body });
    if (ttlCheckId) this.ttlChecks.set(id, ttlCheckId);
    else this.ttlChecks.delete(id);
    const instance = await this.getService(id);
    if (!instance) throw new SwitchboardError('UNAVAILABLE', `${this.backend} accepted the registration of "${id}" but does not show it; try again.`);
    return instance;
  }

  async unregisterService(serviceId: string): Promise<void> {
    await this.http.request({ method: 'PUT', path: `/v1/agent/service/deregister/${encodeURIComponent(serviceId)}` });
    this.ttlChecks.delete(serviceId);
  }

  async renewService(serviceId: string): Promise<void> {
    const checkId = this.ttlChecks.get(serviceId) ?? leaseCheckId(serviceId);
    await this.http.request({ method: 'PUT', path: `/v1/agent/check/pass/${encodeURIComponent(checkId)}` });
  }

  async discoverServices(name: string, filter: DiscoveryFilter = {}): Promise<ServiceInstance[]> {
    const range = versionRange(filter.version);
    const answer = await this.http.request({
      method: 'GET',
      path: healthPath(name),
      query: { passing: filter.passingOnly ? true : undefined, tag: filter.tags?.length ? [...filter.tags] : undefined },
    });
    return instancesOfHealth(this.json(answer), this.context.warn).filter(
      (instance) =>
        (!filter.passingOnly || instance.health.status === 'PASSING') &&
        (range === undefined || (instance.version !== null && semver.satisfies(instance.version, range))),
    );
  }

  /** Consul has no query by tag across services: the services carrying it (catalog/services), then each one's instances with it. */
  async discoverServicesByTag(tag: string, filter: Pick<DiscoveryFilter, 'passingOnly'> = {}): Promise<ServiceInstance[]> {
    const services = this.json(await this.http.request({ method: 'GET', path: '/v1/catalog/services' }));
    if (!isRecord(services)) return [];
    const names = Object.entries(services)
      .filter(([, tags]) => Array.isArray(tags) && tags.includes(tag))
      .map(([name]) => name)
      .sort();
    const found = await Promise.all(names.map((name) => this.discoverServices(name, { tags: [tag], passingOnly: filter.passingOnly ?? false })));
    return found.flat();
  }

  async getService(serviceId: string): Promise<ServiceInstance | undefined> {
    const found = await this.find(serviceId);
    if (!found) return undefined;
    if (found.entry) return found.entry;
    // Registered on the agent, not in its catalog yet (Consul syncs them moments apart): health unknown.
    const instance = toInstance(found.service, [], '', this.context.warn);
    return instance && { ...instance, health: { status: 'UNKNOWN', output: `${this.backend} does not list its checks yet` } };
  }

  async registerHealthCheck(serviceId: string, check: HealthCheck): Promise<RegisteredHealthCheck> {
    validateHealthCheck(check);
    validateCheckKind(check, 'check');
    const found = await this.find(serviceId);
    if (!found) throw notFound('Service instance', serviceId);
    const body = toCheckRegistration(serviceId, found.name, check, this.settings);
    const checkId = body['ID'] as string;
    await this.http.request({ method: 'PUT', path: '/v1/agent/check/register', json: body });
    if (check.ttl != null && !this.ttlChecks.has(serviceId)) this.ttlChecks.set(serviceId, checkId);
    // As the next read sees it: Consul's check, not what was sent.
    const checks = checksOf(this.json(await this.http.request({ method: 'GET', path: `/v1/health/checks/${encodeURIComponent(found.name)}` })));
    const registered = checks.find((each) => each.CheckID === checkId);
    const status = healthOf(registered ? [registered] : []).status;
    return {
      id: checkId,
      serviceId,
      name: registered?.Name ?? (body['Name'] as string),
      status: registered ? status : 'UNKNOWN',
      output: registered?.Output ?? '',
    };
  }

  async getServiceHealth(serviceId: string): Promise<HealthStatus> {
    const found = await this.find(serviceId);
    if (!found) throw notFound('Service instance', serviceId);
    if (!found.checks) return { status: 'UNKNOWN', output: `${this.backend} does not list its checks yet`, lastCheck: null, checkCount: 0, failureCount: 0 };
    return healthOf(found.checks);
  }

  registerComponent(component: Component): Promise<RegisteredComponent> {
    return this.components.register(component);
  }

  unregisterComponent(componentId: string): Promise<void> {
    return this.components.unregister(componentId);
  }

  getComponent(componentId: string): Promise<RegisteredComponent | undefined> {
    return this.components.get(componentId);
  }

  listComponents(type?: ComponentType): Promise<RegisteredComponent[]> {
    return this.components.list(type);
  }

  setConfig(key: string, value: unknown): Promise<ConfigEntry> {
    return this.config.set(key, value);
  }

  getConfig(key: string): Promise<unknown> {
    return this.config.get(key);
  }

  watchConfig(key: string, callback: ConfigChangeCallback): Promise<Stop> {
    return this.config.watch(key, callback);
  }

  /** From the KV event log (see event-log.ts). It resumes by itself after an outage, so `options.onEnd` is never called. */
  subscribe(eventType: EventType | readonly EventType[], handler: EventHandler): Promise<Stop> {
    return this.events.subscribe(eventType, handler);
  }

  publish(event: EventDefinition): Promise<RegistryEvent> {
    return this.events.publish(event);
  }

  async watchService(name: string, listener: InstancesListener, options: WatchOptions = {}): Promise<Stop> {
    const query = serviceQuery(this.context, name, { onChange: listener, ...(options.onStale ? { onStale: options.onStale } : {}) });
    await query.start();
    return this.context.running.add(() => query.stop());
  }

  async watchCatalog(listener: InstancesListener, options: WatchOptions = {}): Promise<Stop> {
    const watch = new CatalogWatch(this.context, listener, options);
    try {
      await watch.start();
    } catch (error) {
      await watch.stop();
      throw error;
    }
    return this.context.running.add(() => watch.stop());
  }

  /** A round trip to /v1/status/leader: healthy when the cluster has a leader. */
  async health(): Promise<BackendHealth> {
    const started = performance.now();
    try {
      const leader = this.json(await this.http.request({ method: 'GET', path: '/v1/status/leader' }));
      const latencyMs = Math.round(performance.now() - started);
      if (typeof leader !== 'string' || leader === '') return { backend: this.backend, healthy: false, latencyMs, error: `${this.backend} has no leader` };
      return { backend: this.backend, healthy: true, latencyMs, error: null };
    } catch (error) {
      return { backend: this.backend, healthy: false, latencyMs: null, error: describe(error) };
    }
  }

  /** Ends the watches and subscriptions (aborting their held requests) and the kept-alive connections. */
  async close(): Promise<void> {
    await this.context.running.stopAll();
    this.http.close();
  }

  /**
   * The instance `serviceId` as the agent has it, and as discovery shows it (its health entry, with the checks
   * Consul counts: the node's too). Undefined when the agent does not know it.
   */
  private async find(
    serviceId: string,
  ): Promise<{ service: Record<string, unknown>; name: string; entry: ServiceInstance | undefined; checks: ConsulCheck[] | undefined } | undefined> {
    const answer = await this.http.request({ method: 'GET', path: `/v1/agent/service/${encodeURIComponent(serviceId)}`, notFoundIsAnswer: true });
    if (answer.status === 404) return undefined;
    const service = this.json(answer);
    if (!isRecord(service) || typeof service['Service'] !== 'string') {
      throw new SwitchboardError('UNAVAILABLE', `${this.backend} answered GET /v1/agent/service/${serviceId} with something that is not a service.`);
    }
    const name = service['Service'];
    const entries = this.json(await this.http.request({ method: 'GET', path: healthPath(name) }));
    const entry = Array.isArray(entries)
      ? entries.find((each) => isRecord(each) && isRecord(each['Service']) && each['Service']['ID'] === serviceId)
      : undefined;
    if (!isRecord(entry)) return { service, name, entry: undefined, checks: undefined };
    return { service, name, entry: instancesOfHealth([entry], this.context.warn)[0], checks: checksOf(entry['Checks']) };
  }

  private json(answer: ConsulAnswer): unknown {
    try {
      return JSON.parse(answer.text) as unknown;
    } catch {
      throw new SwitchboardError('UNAVAILABLE', `${this.backend} answered with something that is not JSON: ${answer.text.slice(0, 80)}`);
    }
  }
}

const healthPath = (name: string) => `/v1/health/service/${encodeURIComponent(name)}`;

/** A semver range checked as the server checks `discoverServices(version:)`; undefined for none. */
function versionRange(version: string | undefined): string | undefined {
  if (version === undefined || version.trim() === '') return undefined;
  const range = version.length <= 256 ? semver.validRange(version) : null;
  if (!range) throw badInput(`"${version.slice(0, 64)}" is not a semver range (try "^1.2", ">=2.0.0 <3" or "1.x").`, { field: 'version' });
  return range;
}
