import type { CheckStatusValue, ComponentInput, ComponentTypeValue, EndpointInput, HealthCheckInput, ServiceDefinitionInput } from '@switchboard/contracts';

/**
 * The seed's `Registry` (pkg/registry) in TypeScript: what a service needs from a registry, in plain data.
 * `SwitchboardRegistry` implements it over Switchboard's GraphQL API; other backends (etcd, Consul,
 * Kubernetes, several at once) implement the same interface, so nothing here names GraphQL.
 * Failures throw `SwitchboardError` from @switchboard/contracts: its `code` (`BAD_USER_INPUT`, `NOT_FOUND`,
 * `CONFLICT`, `UNAVAILABLE`…) and `details` (for bad input, `issues`: `{ field, message }[]`).
 */
export interface Registry {
  /** Names this backend in errors, health reports and provenance: "switchboard http://…", "etcd 127.0.0.1:2379". */
  readonly backend: string;

  // Service registration
  registerService(definition: ServiceDefinition, options?: RegisterOptions): Promise<ServiceInstance>;
  unregisterService(serviceId: string): Promise<void>;
  /** Renews the lease of an instance registered with a `ttl` (Consul's TTL pass, etcd's lease keep-alive); not in the seed. */
  renewService(serviceId: string): Promise<void>;

  // Service discovery
  discoverServices(name: string, filter?: DiscoveryFilter): Promise<ServiceInstance[]>;
  discoverServicesByTag(tag: string, filter?: Pick<DiscoveryFilter, 'passingOnly'>): Promise<ServiceInstance[]>;
  /** Undefined when no instance has this id. */
  getService(serviceId: string): Promise<ServiceInstance | undefined>;

  // Health checking
  registerHealthCheck(serviceId: string, check: HealthCheck): Promise<RegisteredHealthCheck>;
  getServiceHealth(serviceId: string): Promise<HealthStatus>;

  // Component registration
  registerComponent(component: Component): Promise<RegisteredComponent>;
  unregisterComponent(componentId: string): Promise<void>;
  /** Undefined when no component has this id. */
  getComponent(componentId: string): Promise<RegisteredComponent | undefined>;
  listComponents(type?: ComponentType): Promise<RegisteredComponent[]>;

  // Configuration management
  setConfig(key: string, value: unknown): Promise<ConfigEntry>;
  /** Undefined when the key has no value. */
  getConfig(key: string): Promise<unknown>;
  /** Calls `callback` for every change of `key` from now on; resolves once watching, with a function that stops it. */
  watchConfig(key: string, callback: ConfigChangeCallback): Promise<Stop>;

  // Event handling
  /** Calls `handler` for every event of `eventType` (or of any listed type) from now on; resolves once subscribed. */
  subscribe(eventType: EventType | readonly EventType[], handler: EventHandler, options?: SubscribeOptions): Promise<Stop>;
  publish(event: EventDefinition): Promise<RegistryEvent>;

  // Watching and lifecycle (not in the seed: what a push-fed cache and a multi-registry need of every backend)
  /**
   * Follows every instance of `name`, whatever its health: `listener` gets the whole set now and again after each
   * change. Resolves once the first set was delivered; throws as `discoverServices` would when it cannot be had.
   * While the backend does not answer, `options.onStale(error)` is called once and the last set stands; the next
   * set delivered means current again. Resumes by itself (from where it was, or by listing again).
   */
  watchService(name: string, listener: InstancesListener, options?: WatchOptions): Promise<Stop>;
  /** Whether the backend answers now, and how fast: the seed's `monitorRegistryHealth`, without writing a probe. */
  health(): Promise<BackendHealth>;
  /** Ends the watches, keep-alives and connections this registry opened (a client it was given stays open). */
  close(): Promise<void>;
}

/**
 * A registry whose whole catalog can be followed: what `switchboard serve` follows as a source
 * (`SWITCHBOARD_SOURCES`). etcd, Consul and Kubernetes backends are; a MultiRegistry is not.
 */
export interface CatalogSource {
  readonly backend: string;
  /** As `watchService`, over every instance of every service the backend holds (under its prefix or selector). */
  watchCatalog(listener: InstancesListener, options?: WatchOptions): Promise<Stop>;
  close(): Promise<void>;
}

export type InstancesListener = (instances: ServiceInstance[]) => void;

export interface WatchOptions {
  /** The backend stopped answering; the last set delivered stands until the next one. */
  onStale?: (error: unknown) => void;
}

export interface BackendHealth {
  backend: string;
  healthy: boolean;
  /** How long the probe took, when it was answered. */
  latencyMs: number | null;
  /** Why it is not healthy. */
  error: string | null;
  /** For a MultiRegistry, each of its backends. */
  backends?: BackendHealth[];
}

/** Where an instance a MultiRegistry merged came from, and where its backends disagree. */
export interface Provenance {
  /** Every backend that returned the instance, in the MultiRegistry's order. */
  backends: string[];
  /** Empty when they agree. */
  divergences: Divergence[];
}

export interface Divergence {
  field: 'address' | 'port' | 'health';
  /** Each backend's value, by backend name. */
  values: Record<string, unknown>;
}

export interface RegisterOptions {
  /**
   * Bind the instance to this client's connection instead of a lease: it stays while the client is connected
   * (to any server of the registry) and is removed a grace period after it is not. Not with `ttl`.
   */
  ephemeral?: boolean;
}

export interface SubscribeOptions {
  /**
   * The stream ended without being stopped: the registry refused to resume it (its event log was reset, say)
   * or could not be reached for too long. `error` says why (undefined when the registry just ended it). Given,
   * it replaces the registry's own `onError`.
   */
  onEnd?: (error: unknown) => void;
}

/** Go's time.Duration as written in Go and Consul ("250ms", "30s", "1h30m"), or a number of milliseconds. */
export type Duration = string | number;

/** A health check: exactly one of `http`, `tcp`, `grpc`, `script` or `ttl`. */
export type HealthCheck = Omit<HealthCheckInput, 'ttlMs' | 'intervalMs' | 'timeoutMs' | 'deregisterCriticalAfterMs' | 'headers'> & {
  headers?: Record<string, string> | null | undefined;
  /** A TTL check: critical unless renewed (heartbeat) within this. */
  ttl?: Duration | null | undefined;
  interval?: Duration | null | undefined;
  timeout?: Duration | null | undefined;
  deregisterCriticalServiceAfter?: Duration | null | undefined;
};

/** What an instance registers: only `name` is required; `id` defaults to the name, `address` to the caller's. */
export type ServiceDefinition = Omit<
  ServiceDefinitionInput,
  'ttlMs' | 'callerAddress' | 'healthChecks' | 'replaceExistingChecks' | 'metadata' | 'endpoints'
> & {
  metadata?: Record<string, string> | null | undefined;
  endpoints?: readonly EndpointInput[] | null | undefined;
  /** A lease: the instance expires unless renewed (heartbeat) within it. */
  ttl?: Duration | null | undefined;
  healthCheck?: HealthCheck | null | undefined;
};

export type HealthStatusType = CheckStatusValue | 'UNKNOWN';

export interface HealthStatus {
  status: HealthStatusType;
  output: string;
  /** ISO-8601; null before the first check. */
  lastCheck: string | null;
  checkCount: number;
  failureCount: number;
}

export interface ServiceInstance {
  id: string;
  name: string;
  version: string | null;
  address: string;
  port: number | null;
  tags: string[];
  metadata: Record<string, string>;
  endpoints: Endpoint[];
  protocols: string[];
  weight: number;
  priority: number;
  /** The lease ("30s"), or null for an instance kept by its health checks alone. */
  ttl: string | null;
  registeredAt: string;
  updatedAt: string;
  lastHeartbeatAt: string | null;
  expiresAt: string | null;
  health: { status: HealthStatusType; output: string };
  /** Set by a MultiRegistry (and by a backend that knows the instance's origin). */
  provenance?: Provenance;
}

export interface Endpoint {
  path: string;
  method: string;
  description: string | null;
}

export interface DiscoveryFilter {
  /** Only instances whose health is passing. */
  passingOnly?: boolean;
  /** Only instances with every one of these tags. */
  tags?: readonly string[];
  /** A semver range ("^2", ">=1.4 <2"). */
  version?: string;
}

export interface RegisteredHealthCheck {
  id: string;
  serviceId: string;
  name: string;
  status: HealthStatusType;
  output: string;
}

export type ComponentType = ComponentTypeValue;

/** A framework component (step, transformer, …); `dependencies` are ids or names, optionally "@range". */
export type Component = ComponentInput & { type: ComponentType };

export interface RegisteredComponent {
  id: string;
  type: ComponentType;
  name: string;
  version: string;
  description: string | null;
  /** As written: "http-client@^1.2", "custom-api-step-v1". */
  dependencies: string[];
  metadata: Record<string, unknown>;
  /** The flows it declares it serves, as written: "checkout", "checkout@^2", "tag:payments". */
  flows: string[];
  /** The service (a name) whose instances run it; null when none. */
  provider: string | null;
  registeredAt: string;
  updatedAt: string;
}

export interface ConfigEntry {
  key: string;
  value: unknown;
  version: number;
  updatedAt: string;
}

/** `oldValue` is undefined for a new key, `newValue` undefined when the key was deleted. */
export type ConfigChangeCallback = (key: string, oldValue: unknown, newValue: unknown) => void;

/** "service.registered", "config.changed", an application's own type, or a pattern such as "service.*". */
export type EventType = string;

export interface EventDefinition {
  type: EventType;
  source: string;
  data?: Record<string, unknown>;
}

export interface RegistryEvent {
  id: string;
  type: EventType;
  source: string;
  data: Record<string, unknown>;
  /** ISO-8601. */
  timestamp: string;
}

export type EventHandler = (event: RegistryEvent) => void;

/** Ends a watch or subscription. */
export type Stop = () => Promise<void>;
