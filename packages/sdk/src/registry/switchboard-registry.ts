import {
  ComponentDocument,
  ComponentsDocument,
  ComposeFlowDocument,
  ConfigDocument,
  DiscoverInstancesDocument,
  DiscoverServicesByTagDocument,
  DiscoverServicesDocument,
  HeartbeatDocument,
  LatestEventIdDocument,
  OnConfigChangedDocument,
  OnDiscoveredInstancesChangedDocument,
  OnEventsDocument,
  PublishEventDocument,
  RegisterComponentDocument,
  RegisterHealthCheckDocument,
  RegisterServiceDocument,
  ServiceDocument,
  ServiceHealthDocument,
  SetConfigDocument,
  UnregisterComponentDocument,
  UnregisterServiceDocument,
  type SwitchboardClient,
} from '@switchboard/client';
import { ExponentialBackoff, handleWhen, noJitterGenerator, retry, type RetryPolicy } from 'cockatiel';
import { CachedService } from '../discovery/cached-service.js';
import { parseComposeRequest, type ComposeRequirementsInput, type FlowComposition } from '@switchboard/contracts';
import { fromDiscovered, toComponent, toComposition, toInstance, toWireCheck, toWireDefinition } from './convert.js';
import { isTransient, toRegistryError } from './errors.js';
import type {
  Component,
  ComponentType,
  ConfigChangeCallback,
  ConfigEntry,
  DiscoveryFilter,
  EventDefinition,
  EventHandler,
  EventType,
  HealthCheck,
  HealthStatus,
  RegisteredComponent,
  RegisteredHealthCheck,
  RegisterOptions,
  Registry,
  RegistryEvent,
  BackendHealth,
  InstancesListener,
  ServiceDefinition,
  ServiceInstance,
  Stop,
  SubscribeOptions,
  WatchOptions,
} from './registry.js';
import { validateComponent, validateConfig, validateHealthCheck, validateServiceDefinition } from './validate.js';

export interface SwitchboardRegistryOptions {
  /** Attempts at a registration (the seed's 3), retried only when the registry is unavailable or unreachable. */
  registerAttempts?: number;
  /** The wait before the first retry (default 1s), doubled before each next one (the seed's backoff). */
  registerBackoffMs?: number;
  /** A watch or subscription that failed for good (default: logged with console.error). */
  onError?: (error: unknown) => void;
}

/**
 * The Registry over a Switchboard server. Definitions are checked with the server's own rules before they
 * are sent; watches and subscriptions resume after a reconnect (the client's), from the registry's event
 * log position at the time they began, so no change is lost or repeated.
 */
export class SwitchboardRegistry implements Registry {
  private readonly registration: RetryPolicy;
  private readonly onError: (error: unknown) => void;
  /** Watches and subscriptions still running: `close()` ends them. */
  private readonly running = new Set<Stop>();

  constructor(
    readonly client: SwitchboardClient,
    options: SwitchboardRegistryOptions = {},
  ) {
    this.registration = retry(handleWhen(isTransient), {
      maxAttempts: (options.registerAttempts ?? 3) - 1,
      backoff: new ExponentialBackoff({ initialDelay: options.registerBackoffMs ?? 1000, exponent: 2, generator: noJitterGenerator }),
    });
    this.onError = options.onError ?? ((error) => console.error('switchboard registry:', error));
  }

  get backend(): string {
    return `switchboard ${this.client.url}`;
  }

  async registerService(definition: ServiceDefinition, options: RegisterOptions = {}): Promise<ServiceInstance> {
    validateServiceDefinition(definition);
    const input = toWireDefinition(definition);
    // Ephemeral: over the WebSocket, whose session (connectionParams.sessionId) the server binds the instance to.
    const send = options.ephemeral
      ? () => this.client.requestOverWebSocket(RegisterServiceDocument, { input, ephemeral: true })
      : () => this.client.request(RegisterServiceDocument, { input });
    // An upsert by id: sending it again after a lost answer does not duplicate the instance.
    const { registerService } = await this.registration.execute(() => this.call(send));
    return toInstance(registerService);
  }

  async unregisterService(serviceId: string): Promise<void> {
    await this.call(() => this.client.request(UnregisterServiceDocument, { id: serviceId }));
  }

  async renewService(serviceId: string): Promise<void> {
    await this.call(() => this.client.request(HeartbeatDocument, { id: serviceId }));
  }

  async discoverServices(name: string, filter: DiscoveryFilter = {}): Promise<ServiceInstance[]> {
    const { discoverServices } = await this.call(() =>
      this.client.request(DiscoverServicesDocument, { name, passingOnly: filter.passingOnly, tags: filter.tags && [...filter.tags], version: filter.version }),
    );
    return discoverServices.map(toInstance);
  }

  async discoverServicesByTag(tag: string, filter: Pick<DiscoveryFilter, 'passingOnly'> = {}): Promise<ServiceInstance[]> {
    const { discoverServicesByTag } = await this.call(() => this.client.request(DiscoverServicesByTagDocument, { tag, passingOnly: filter.passingOnly }));
    return discoverServicesByTag.map(toInstance);
  }

  async getService(serviceId: string): Promise<ServiceInstance | undefined> {
    const { service } = await this.call(() => this.client.request(ServiceDocument, { id: serviceId }));
    return service ? toInstance(service) : undefined;
  }

  async registerHealthCheck(serviceId: string, check: HealthCheck): Promise<RegisteredHealthCheck> {
    validateHealthCheck(check);
    const { registerHealthCheck } = await this.call(() => this.client.request(RegisterHealthCheckDocument, { serviceId, check: toWireCheck(check) }));
    const { id, name, status, output } = registerHealthCheck;
    return { id, serviceId: registerHealthCheck.serviceId, name, status, output };
  }

  async getServiceHealth(serviceId: string): Promise<HealthStatus> {
    const { serviceHealth } = await this.call(() => this.client.request(ServiceHealthDocument, { id: serviceId }));
    return serviceHealth;
  }

  async registerComponent(component: Component): Promise<RegisteredComponent> {
    validateComponent(component);
    const input = { ...component, dependencies: component.dependencies && [...component.dependencies], flows: component.flows && [...component.flows] };
    const { registerComponent } = await this.call(() => this.client.request(RegisterComponentDocument, { input }));
    return toComponent(registerComponent);
  }

  async unregisterComponent(componentId: string): Promise<void> {
    await this.call(() => this.client.request(UnregisterComponentDocument, { id: componentId }));
  }

  async getComponent(componentId: string): Promise<RegisteredComponent | undefined> {
    const { component } = await this.call(() => this.client.request(ComponentDocument, { id: componentId }));
    return component ? toComponent(component) : undefined;
  }

  async listComponents(type?: ComponentType): Promise<RegisteredComponent[]> {
    const { components } = await this.call(() => this.client.request(ComponentsDocument, { type }));
    return components.map(toComponent);
  }

  /** The server's composition of `flow` (what `composeFlow(registry, …)` asks on this backend). */
  async composeFlow(flow: string, requirements?: ComposeRequirementsInput | null): Promise<FlowComposition<RegisteredComponent>> {
    parseComposeRequest(flow, requirements);
    const wire = requirements && {
      types: requirements.types && ([...requirements.types] as ComponentType[]),
      flowVersion: requirements.flowVersion,
      require: requirements.require && [...requirements.require],
    };
    const { composeFlow } = await this.call(() => this.client.request(ComposeFlowDocument, { flow, requirements: wire }));
    return toComposition(composeFlow);
  }

  async setConfig(key: string, value: unknown): Promise<ConfigEntry> {
    validateConfig(key, value);
    const { setConfig } = await this.call(() => this.client.request(SetConfigDocument, { key, value }));
    return { key: setConfig.key, value: setConfig.value, version: setConfig.version, updatedAt: setConfig.updatedAt };
  }

  async getConfig(key: string): Promise<unknown> {
    const { config } = await this.call(() => this.client.request(ConfigDocument, { key }));
    return config?.value;
  }

  async watchConfig(key: string, callback: ConfigChangeCallback): Promise<Stop> {
    const after = await this.latestEventId();
    return this.follow(this.client.subscribe(OnConfigChangedDocument, { key, after }), ({ configChanged: change }) =>
      // The API says null for "no value" (a new key, a deletion); values themselves are never null.
      callback(change.key, change.oldValue ?? undefined, change.deleted ? undefined : (change.newValue ?? undefined)),
    );
  }

  async subscribe(eventType: EventType | readonly EventType[], handler: EventHandler, options: SubscribeOptions = {}): Promise<Stop> {
    const types = typeof eventType === 'string' ? [eventType] : [...eventType];
    const after = await this.latestEventId();
    return this.follow(
      this.client.subscribe(OnEventsDocument, { types, after }),
      ({ events: event }) =>
        handler({ id: event.id, type: event.type, source: event.source, data: event.data as Record<string, unknown>, timestamp: event.timestamp }),
      options.onEnd,
    );
  }

  async publish(event: EventDefinition): Promise<RegistryEvent> {
    const { publishEvent } = await this.call(() => this.client.request(PublishEventDocument, { input: event }));
    const { id, type, source, data, timestamp } = publishEvent;
    return { id, type, source, data: data as Record<string, unknown>, timestamp };
  }

  async watchService(name: string, listener: InstancesListener, options: WatchOptions = {}): Promise<Stop> {
    // The query's answer as of the log's position, then every change after it: nothing missed, nothing twice.
    const after = await this.latestEventId();
    const { discoverServices } = await this.call(() => this.client.request(DiscoverInstancesDocument, { name, passingOnly: false }));
    const service = new CachedService(name);
    service.replace(discoverServices, Number(after ?? 0));
    const deliver = () => listener(service.instances().map(fromDiscovered));
    deliver();
    return this.follow(
      this.client.subscribe(OnDiscoveredInstancesChangedDocument, { names: [name], after }),
      ({ instancesChanged: change }) => {
        const applied = change.__typename === 'ServiceChange' ? service.applyServiceChange(change) : service.applyHealthChange(change);
        if (applied) deliver();
      },
      options.onStale,
    );
  }

  async health(): Promise<BackendHealth> {
    const started = performance.now();
    try {
      await this.latestEventId();
      return { backend: this.backend, healthy: true, latencyMs: Math.round(performance.now() - started), error: null };
    } catch (error) {
      return { backend: this.backend, healthy: false, latencyMs: null, error: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Ends this registry's watches and subscriptions; the client it was given stays open (it is the caller's). */
  async close(): Promise<void> {
    await Promise.all([...this.running].map((stop) => stop()));
  }

  /** Where the event log ends now: a watch starts after it, so it misses nothing between this call and its first event. */
  private async latestEventId(): Promise<string | null> {
    const { latestEventId } = await this.call(() => this.client.request(LatestEventIdDocument));
    return latestEventId;
  }

  /**
   * Feeds each payload of `stream` to `each` until stopped. A stream that ends by itself goes to `onEnd` when
   * given (with its error, if any), else its failure goes to `onError`.
   */
  private follow<T>(stream: AsyncIterableIterator<T>, each: (payload: T) => void, onEnd?: (error: unknown) => void): Stop {
    let stopped = false;
    const following = (async () => {
      let failure: unknown;
      try {
        for await (const payload of stream) each(payload);
      } catch (error) {
        failure = toRegistryError(error);
      }
      if (stopped) return;
      if (onEnd) onEnd(failure);
      else if (failure !== undefined) this.onError(failure);
    })();
    const stop = async () => {
      stopped = true;
      this.running.delete(stop);
      await stream.return?.();
      await following;
    };
    this.running.add(stop);
    return stop;
  }

  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw toRegistryError(error);
    }
  }
}
