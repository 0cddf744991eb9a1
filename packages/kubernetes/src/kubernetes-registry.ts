import { notFound, notSupported, SwitchboardError } from '@switchboard/contracts';
import type {
  BackendHealth,
  CatalogSource,
  Component,
  ComponentType,
  EventDefinition,
  HealthCheck,
  ServiceDefinition,
  ConfigChangeCallback,
  ConfigEntry,
  DiscoveryFilter,
  EventHandler,
  EventType,
  HealthStatus,
  InstancesListener,
  RegisteredComponent,
  RegisteredHealthCheck,
  Registry,
  RegistryEvent,
  ServiceInstance,
  Stop,
  SubscribeOptions,
  WatchOptions,
} from '@switchboard/sdk';
import { KubeApi } from './api.js';
import { ConfigMapReader } from './config-map.js';
import { toRegistryError } from './errors.js';
import { changeEvents, DERIVED_EVENT_TYPES, matchesType } from './events.js';
import { filterInstances } from './filter.js';
import { connectionOf, type KubernetesRegistryOptions } from './options.js';
import { ClusterView } from './view.js';

const DEFAULTS = { dialTimeoutMs: 5_000, readTimeoutMs: 30_000, watchTimeoutSeconds: 300, retryMinMs: 500, retryMaxMs: 30_000 };

/**
 * The Registry over a Kubernetes namespace: Services' EndpointSlices are the instances (one per endpoint,
 * health from its conditions), their Pods add metadata, version, tags and weight. Discovery is followed by
 * client-node's informers (list, then watch with bookmarks; relist on 410 Gone; resumed after a dropped
 * watch). Registration is the platform's: registering answers NOT_SUPPORTED. docs/backends/kubernetes.md
 * has the whole layout.
 */
export class KubernetesRegistry implements Registry, CatalogSource {
  readonly backend: string;
  readonly namespace: string;
  private readonly api: KubeApi;
  private readonly view: ClusterView;
  private readonly configMap: ConfigMapReader | undefined;
  private readonly running = new Set<Stop>();
  private eventSequence = 0;

  constructor(options: KubernetesRegistryOptions = {}) {
    const { kubeConfig, namespace, server } = connectionOf(options);
    this.namespace = namespace;
    this.backend = `kubernetes ${server} namespace ${namespace}`;
    const settings = { ...DEFAULTS, ...definedOnly(options) };
    this.api = new KubeApi(kubeConfig, settings.dialTimeoutMs, settings.readTimeoutMs);
    const onWarning = options.onWarning ?? ((message: string) => console.warn(`${this.backend}: ${message}`));
    const informers = {
      backend: this.backend,
      watchTimeoutSeconds: settings.watchTimeoutSeconds,
      retryMinMs: settings.retryMinMs,
      retryMaxMs: settings.retryMaxMs,
    };
    const inNamespace = `namespaces/${encodeURIComponent(namespace)}`;
    const readsPods = options.pods ?? true;
    this.view = new ClusterView(this.api, {
      instances: {
        namespace,
        addressType: options.addressType ?? 'IPv4',
        portName: options.portName,
        pods: readsPods,
        instanceIds: options.instanceIds ?? 'qualified',
      },
      slices: { path: `/apis/discovery.k8s.io/v1/${inNamespace}/endpointslices`, labelSelector: options.labelSelector },
      pods: readsPods ? { path: `/api/v1/${inNamespace}/pods`, fieldSelector: options.fieldSelector } : undefined,
      informers,
      onWarning,
    });
    this.configMap =
      options.configMap === undefined ? undefined : new ConfigMapReader(this.api, namespace, options.configMap, { ...informers, onMalformed: onWarning });
  }

  // Registration is the platform's: a Deployment's pods behind a Service are the instances.

  async registerService(definition: ServiceDefinition): Promise<ServiceInstance> {
    throw this.unsupported(`registering service "${definition.name}" (the platform registers: a Service selecting ready pods)`);
  }

  async unregisterService(serviceId: string): Promise<void> {
    throw this.unsupported(`unregistering "${serviceId}" (scale or delete its pods, or change the Service)`);
  }

  async renewService(serviceId: string): Promise<void> {
    throw this.unsupported(`renewing the lease of "${serviceId}" (endpoints stay while their pods run; readiness probes say if they serve)`);
  }

  async registerHealthCheck(serviceId: string, check: HealthCheck): Promise<RegisteredHealthCheck> {
    throw this.unsupported(
      `registering a check${check.name ? ` "${check.name}"` : ''} on "${serviceId}" (give the pod a readiness probe: it sets the endpoint ready or not)`,
    );
  }

  async discoverServices(name: string, filter: DiscoveryFilter = {}): Promise<ServiceInstance[]> {
    return filterInstances(
      (await this.instances()).filter((instance) => instance.name === name),
      filter,
    );
  }

  async discoverServicesByTag(tag: string, filter: Pick<DiscoveryFilter, 'passingOnly'> = {}): Promise<ServiceInstance[]> {
    return filterInstances(await this.instances(), { ...filter, tags: [tag] });
  }

  async getService(serviceId: string): Promise<ServiceInstance | undefined> {
    return (await this.instances()).find((instance) => instance.id === serviceId);
  }

  async getServiceHealth(serviceId: string): Promise<HealthStatus> {
    const instance = await this.getService(serviceId);
    if (!instance) throw notFound('Service instance', serviceId);
    const { status, output } = instance.health;
    // One "check": the endpoint's conditions, which the kubelet's probes set.
    return { status, output, lastCheck: null, checkCount: 1, failureCount: status === 'CRITICAL' ? 1 : 0 };
  }

  async registerComponent(component: Component): Promise<RegisteredComponent> {
    throw this.unsupported(`registering component "${component.name}" (components need a registry that stores them)`);
  }

  async unregisterComponent(componentId: string): Promise<void> {
    throw this.unsupported(`component "${componentId}" (components need a registry that stores them)`);
  }

  async getComponent(componentId: string): Promise<RegisteredComponent | undefined> {
    throw this.unsupported(`component "${componentId}" (components need a registry that stores them)`);
  }

  async listComponents(type?: ComponentType): Promise<RegisteredComponent[]> {
    throw this.unsupported(`listing ${type ?? 'all'} components (components need a registry that stores them)`);
  }

  async setConfig(key: string, value: unknown): Promise<ConfigEntry> {
    void value; // Refused whatever it is: nothing is written.
    throw this.unsupported(
      this.configMap
        ? `writing "${key}" (configuration is read from a ConfigMap: change the ConfigMap)`
        : 'configuration (give the configMap option to read one)',
    );
  }

  async getConfig(key: string): Promise<unknown> {
    if (!this.configMap) throw this.unsupported('configuration (give the configMap option to read one)');
    return this.configMap.get(key);
  }

  async watchConfig(key: string, callback: ConfigChangeCallback): Promise<Stop> {
    if (!this.configMap) throw this.unsupported('configuration (give the configMap option to read one)');
    return this.track(await this.configMap.watch(key, callback));
  }

  /** service.registered, service.unregistered and service.health.changed, derived from what the informers see change. */
  async subscribe(eventType: EventType | readonly EventType[], handler: EventHandler, options: SubscribeOptions = {}): Promise<Stop> {
    void options; // Derived events never end by themselves: the informers retry until closed, so onEnd is never called.
    const patterns = typeof eventType === 'string' ? [eventType] : [...eventType];
    if (!patterns.some((pattern) => DERIVED_EVENT_TYPES.some((type) => matchesType(type, pattern)))) {
      throw this.unsupported(`events of type ${patterns.join(', ')} (it tells ${DERIVED_EVENT_TYPES.join(', ')})`);
    }
    await this.startView();
    const stopFollowing = this.view.onChange((before, after) => {
      for (const event of changeEvents(before, after, this.backend, () => String(++this.eventSequence))) {
        if (patterns.some((pattern) => matchesType(event.type, pattern))) handler(event);
      }
    });
    return this.track(async () => stopFollowing());
  }

  async publish(event: EventDefinition): Promise<RegistryEvent> {
    throw this.unsupported(`publishing "${event.type}" (events here are derived from what the cluster does)`);
  }

  async watchService(name: string, listener: InstancesListener, options: WatchOptions = {}): Promise<Stop> {
    await this.startView();
    const stopFollowing = this.view.follow((instance) => instance.name === name, listener, options.onStale);
    return this.track(async () => stopFollowing());
  }

  async watchCatalog(listener: InstancesListener, options: WatchOptions = {}): Promise<Stop> {
    await this.startView();
    const stopFollowing = this.view.follow(() => true, listener, options.onStale);
    return this.track(async () => stopFollowing());
  }

  /** One round trip to the API server (GET /version). */
  async health(): Promise<BackendHealth> {
    const started = performance.now();
    try {
      await this.api.get('/version');
      return { backend: this.backend, healthy: true, latencyMs: Math.round(performance.now() - started), error: null };
    } catch (error) {
      return { backend: this.backend, healthy: false, latencyMs: null, error: toRegistryError(error, this.backend).message };
    }
  }

  /** Ends every watch and informer this registry opened. */
  async close(): Promise<void> {
    await Promise.all([...this.running].map((stop) => stop()));
    await this.view.close();
  }

  /** The namespace's instances: from the informers while they watch, else listed once (nothing stays open). */
  private async instances(): Promise<ServiceInstance[]> {
    if (this.view.live) return this.view.instances();
    try {
      return await this.view.snapshot();
    } catch (error) {
      throw toRegistryError(error, this.backend);
    }
  }

  private async startView(): Promise<void> {
    try {
      await this.view.start();
    } catch (error) {
      throw toRegistryError(error, this.backend);
    }
  }

  private track(stop: Stop): Stop {
    const tracked: Stop = async () => {
      this.running.delete(tracked);
      await stop();
    };
    this.running.add(tracked);
    return tracked;
  }

  private unsupported(what: string): SwitchboardError {
    return notSupported(`${this.backend}: not supported by the Kubernetes backend: ${what}.`);
  }
}

/** The options given, without those set to undefined (which would hide a default when spread over it). */
function definedOnly(options: KubernetesRegistryOptions): Partial<typeof DEFAULTS> {
  return Object.fromEntries(Object.entries(options).filter(([key, value]) => key in DEFAULTS && value !== undefined)) as Partial<typeof DEFAULTS>;
}
