import { SwitchboardError, type ErrorCode } from '@switchboard/contracts';
import { LRUCache } from 'lru-cache';
import type {
  BackendHealth,
  Component,
  ComponentType,
  ConfigChangeCallback,
  ConfigEntry,
  DiscoveryFilter,
  Divergence,
  EventDefinition,
  EventHandler,
  EventType,
  HealthCheck,
  HealthStatus,
  HealthStatusType,
  InstancesListener,
  RegisteredComponent,
  RegisteredHealthCheck,
  RegisterOptions,
  Registry,
  RegistryEvent,
  ServiceDefinition,
  ServiceInstance,
  Stop,
  SubscribeOptions,
  WatchOptions,
} from './registry.js';
import { validateServiceDefinition } from './validate.js';

/**
 * How many backends must answer: `first-success` one, `majority` more than half, `all` every one. Writes
 * go to every backend whatever the strategy; the strategy decides whether the write succeeded.
 */
export type MultiStrategy = 'first-success' | 'all' | 'majority';

export interface MultiRegistryOptions {
  /** Default `all`: a write the caller is told succeeded is in every backend. */
  strategy?: MultiStrategy;
  /** A backend whose watch could not start or ended is tried again after this long (default 2 s). */
  rewatchMs?: number;
  /** A write that met the strategy but failed on some backends (default: console.warn). */
  onPartialFailure?: (failure: MultiRegistryError) => void;
}

/** One backend's failure within a MultiRegistry call. */
export interface BackendFailure {
  backend: string;
  code: ErrorCode | undefined;
  message: string;
}

/**
 * A call that did not reach as many backends as the strategy needs. `details` says which succeeded,
 * which failed and why, and for a registration which backends it was taken back from.
 */
export class MultiRegistryError extends SwitchboardError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly split: { operation: string; strategy: MultiStrategy; succeeded: string[]; failed: BackendFailure[]; compensated: string[] },
  ) {
    super(code, message, { ...split });
  }
}

const HEALTH_ORDER: readonly HealthStatusType[] = ['PASSING', 'WARNING', 'UNKNOWN', 'CRITICAL'];
/** The same event seen through several backends within this long is delivered once. */
const EVENT_DEDUP_MS = 5_000;

/**
 * The seed's `NewMultiRegistry(...).WithStrategy(...)`: several backends as one Registry.
 *
 * - **Writes** go to every backend at once. They succeed when as many backends succeeded as the strategy
 *   needs; the answer is the first backend's (in the order given) among those that succeeded. When the
 *   strategy is not met, a registration is taken back (unregistered) from the backends that did take it,
 *   so no instance is left that its owner believes failed; any other write (configuration, components,
 *   events, an unregistration) is not undone: the error reports the split, backend by backend.
 * - **Reads** ask every backend and merge by instance id. Each instance carries its `provenance`: which
 *   backends returned it and where they disagree on address, port or health. Its health is the worst any
 *   backend reports (one that saw it fail is believed); its other fields are the first backend's.
 * - **Watches** follow every backend and deliver the merged set; a backend whose watch fails is tried again,
 *   and the merged watch is stale while fewer backends answer than the strategy needs.
 */
export class MultiRegistry implements Registry {
  readonly strategy: MultiStrategy;
  /** How many backends must answer for the strategy. */
  readonly needed: number;
  /** How long before a backend's failed watch is tried again. */
  readonly rewatchMs: number;
  private readonly options: MultiRegistryOptions;

  constructor(
    readonly registries: readonly Registry[],
    options: MultiRegistryOptions = {},
  ) {
    if (registries.length === 0) throw new SwitchboardError('BAD_USER_INPUT', 'MultiRegistry: give at least one registry.');
    this.strategy = options.strategy ?? 'all';
    const total = registries.length;
    this.needed = this.strategy === 'all' ? total : this.strategy === 'majority' ? Math.floor(total / 2) + 1 : 1;
    this.rewatchMs = options.rewatchMs ?? 2_000;
    this.options = options;
  }

  /** The seed's `.WithStrategy(...)`: the same backends under another strategy. */
  withStrategy(strategy: MultiStrategy): MultiRegistry {
    return new MultiRegistry(this.registries, { ...this.options, strategy });
  }

  get backend(): string {
    return `multi(${this.registries.map((registry) => registry.backend).join(', ')})`;
  }

  async registerService(definition: ServiceDefinition, options?: RegisterOptions): Promise<ServiceInstance> {
    // Checked once before anything is sent, so bad input is refused by no backend rather than by all.
    validateServiceDefinition(definition);
    return this.write('registerService', (registry) => registry.registerService(definition, options), {
      undo: (registry, instance) => registry.unregisterService(instance.id),
    });
  }

  unregisterService(serviceId: string): Promise<void> {
    return this.write('unregisterService', (registry) => registry.unregisterService(serviceId), { missingIsDone: true });
  }

  renewService(serviceId: string): Promise<void> {
    return this.write('renewService', (registry) => registry.renewService(serviceId));
  }

  async discoverServices(name: string, filter: DiscoveryFilter = {}): Promise<ServiceInstance[]> {
    const { passingOnly, ...rest } = filter;
    // Health is judged after merging (the worst any backend reports), so every backend is asked for all.
    const answers = await this.read('discoverServices', (registry) => registry.discoverServices(name, { ...rest, passingOnly: false }));
    return passing(mergeInstances(answers), passingOnly);
  }

  async discoverServicesByTag(tag: string, filter: Pick<DiscoveryFilter, 'passingOnly'> = {}): Promise<ServiceInstance[]> {
    const answers = await this.read('discoverServicesByTag', (registry) => registry.discoverServicesByTag(tag, { passingOnly: false }));
    return passing(mergeInstances(answers), filter.passingOnly);
  }

  async getService(serviceId: string): Promise<ServiceInstance | undefined> {
    const answers = await this.read('getService', async (registry) => {
      const instance = await registry.getService(serviceId);
      return instance ? [instance] : [];
    });
    return mergeInstances(answers)[0];
  }

  registerHealthCheck(serviceId: string, check: HealthCheck): Promise<RegisteredHealthCheck> {
    return this.write('registerHealthCheck', (registry) => registry.registerHealthCheck(serviceId, check));
  }

  /** The worst status any backend that knows the instance reports. */
  async getServiceHealth(serviceId: string): Promise<HealthStatus> {
    const answers = await this.read('getServiceHealth', async (registry) => {
      try {
        return [await registry.getServiceHealth(serviceId)];
      } catch (error) {
        if (error instanceof SwitchboardError && error.code === 'NOT_FOUND') return [];
        throw error;
      }
    });
    const known = answers.flatMap((answer) => answer.value);
    if (known.length === 0) throw new SwitchboardError('NOT_FOUND', `Service instance "${serviceId}" does not exist in any backend.`, { id: serviceId });
    return known.reduce((worst, each) => (rank(each.status) > rank(worst.status) ? each : worst));
  }

  registerComponent(component: Component): Promise<RegisteredComponent> {
    return this.write('registerComponent', (registry) => registry.registerComponent(component));
  }

  unregisterComponent(componentId: string): Promise<void> {
    return this.write('unregisterComponent', (registry) => registry.unregisterComponent(componentId), { missingIsDone: true });
  }

  async getComponent(componentId: string): Promise<RegisteredComponent | undefined> {
    const answers = await this.read('getComponent', async (registry) => {
      const component = await registry.getComponent(componentId);
      return component ? [component] : [];
    });
    return answers.flatMap((answer) => answer.value)[0];
  }

  async listComponents(type?: ComponentType): Promise<RegisteredComponent[]> {
    const answers = await this.read('listComponents', (registry) => registry.listComponents(type));
    const byId = new Map<string, RegisteredComponent>();
    for (const component of answers.flatMap((answer) => answer.value)) if (!byId.has(component.id)) byId.set(component.id, component);
    return [...byId.values()];
  }

  setConfig(key: string, value: unknown): Promise<ConfigEntry> {
    return this.write('setConfig', (registry) => registry.setConfig(key, value));
  }

  /** The first backend's value (in the order given) among those that answered. */
  async getConfig(key: string): Promise<unknown> {
    const answers = await this.read('getConfig', async (registry) => {
      const value = await registry.getConfig(key);
      return value === undefined ? [] : [value];
    });
    return answers.flatMap((answer) => answer.value)[0];
  }

  /** Follows the key in every backend; a value set through all of them is delivered once. */
  async watchConfig(key: string, callback: ConfigChangeCallback): Promise<Stop> {
    let last: string | undefined;
    const deliver: ConfigChangeCallback = (changedKey, oldValue, newValue) => {
      const current = newValue === undefined ? undefined : JSON.stringify(newValue);
      if (current === last) return;
      last = current;
      callback(changedKey, oldValue, newValue);
    };
    return this.followAll('watchConfig', (registry) => registry.watchConfig(key, deliver));
  }

  /** Follows every backend; an event seen through several of them (a publish through this registry) is delivered once. */
  async subscribe(eventType: EventType | readonly EventType[], handler: EventHandler, options?: SubscribeOptions): Promise<Stop> {
    const seen = new LRUCache<string, true>({ max: 10_000, ttl: EVENT_DEDUP_MS });
    const deliver: EventHandler = (event) => {
      const key = `${event.type}\u0000${event.source}\u0000${JSON.stringify(event.data)}`;
      if (seen.has(key)) return;
      seen.set(key, true);
      handler(event);
    };
    return this.followAll('subscribe', (registry) => registry.subscribe(eventType, deliver, options));
  }

  publish(event: EventDefinition): Promise<RegistryEvent> {
    return this.write('publish', (registry) => registry.publish(event));
  }

  async watchService(name: string, listener: InstancesListener, options: WatchOptions = {}): Promise<Stop> {
    return new MergedWatch(this, name, listener, options).start();
  }

  /** Healthy when as many backends answer as the strategy needs; each backend's own report is in `backends`. */
  async health(): Promise<BackendHealth> {
    const started = performance.now();
    const backends = await Promise.all(this.registries.map((registry) => registry.health()));
    const answering = backends.filter((each) => each.healthy).length;
    const healthy = answering >= this.needed;
    return {
      backend: this.backend,
      healthy,
      latencyMs: healthy ? Math.round(performance.now() - started) : null,
      error: healthy ? null : `${answering} of ${backends.length} backends answer; the ${this.strategy} strategy needs ${this.needed}.`,
      backends,
    };
  }

  /** Closes every backend: a MultiRegistry owns the registries it was built from. */
  async close(): Promise<void> {
    await Promise.all(this.registries.map((registry) => registry.close()));
  }

  /** Each backend's answer, once all have settled, checked against the strategy. */
  private async read<T>(operation: string, call: (registry: Registry) => Promise<T[]>): Promise<{ backend: string; value: T[] }[]> {
    const outcomes = await Promise.allSettled(this.registries.map((registry) => call(registry)));
    const answers = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [{ backend: this.registries[i]!.backend, value: outcome.value }] : []));
    if (answers.length < this.needed) throw this.splitError(operation, outcomes, []);
    return answers;
  }

  private async write<T>(
    operation: string,
    call: (registry: Registry) => Promise<T>,
    { undo, missingIsDone = false }: { undo?: (registry: Registry, answer: T) => Promise<void>; missingIsDone?: boolean } = {},
  ): Promise<T> {
    const outcomes = await Promise.allSettled(this.registries.map((registry) => call(registry)));
    // Removing what a backend does not have leaves it as asked: that backend succeeded.
    const settled = outcomes.map((outcome) =>
      outcome.status === 'rejected' && missingIsDone && codeOf(outcome.reason) === 'NOT_FOUND'
        ? ({ status: 'fulfilled', value: undefined as T } as const)
        : outcome,
    );
    const succeeded = settled.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [i] : []));
    if (succeeded.length >= this.needed) {
      if (succeeded.length < this.registries.length) (this.options.onPartialFailure ?? warn)(this.splitError(operation, settled, []));
      return (settled[succeeded[0]!] as PromiseFulfilledResult<T>).value;
    }
    const compensated: string[] = [];
    if (undo) {
      await Promise.all(
        succeeded.map(async (i) => {
          const registry = this.registries[i]!;
          await undo(registry, (settled[i] as PromiseFulfilledResult<T>).value).then(
            () => compensated.push(registry.backend),
            () => {},
          );
        }),
      );
    }
    throw this.splitError(operation, settled, compensated);
  }

  private async followAll(operation: string, start: (registry: Registry) => Promise<Stop>): Promise<Stop> {
    const outcomes = await Promise.allSettled(this.registries.map((registry) => start(registry)));
    const stops = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    if (stops.length < this.needed) {
      await Promise.all(stops.map((stop) => stop()));
      throw this.splitError(operation, outcomes, []);
    }
    return async () => {
      await Promise.all(stops.map((stop) => stop()));
    };
  }

  private splitError(operation: string, outcomes: readonly PromiseSettledResult<unknown>[], compensated: string[]): MultiRegistryError {
    const succeeded = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [this.registries[i]!.backend] : []));
    const failed = outcomes.flatMap((outcome, i) =>
      outcome.status === 'rejected' ? [{ backend: this.registries[i]!.backend, code: codeOf(outcome.reason), message: messageOf(outcome.reason) }] : [],
    );
    const codes = new Set(failed.map((failure) => failure.code));
    // One reason everywhere (bad input, not found, refused credentials) is that reason; a mix is an outage.
    const code = codes.size === 1 ? ([...codes][0] ?? 'UNAVAILABLE') : 'UNAVAILABLE';
    const reasons = failed.map((failure) => `${failure.backend}: ${failure.message}`).join('; ');
    const undone = compensated.length > 0 ? ` Taken back from ${compensated.join(', ')}.` : '';
    const message =
      succeeded.length >= this.needed
        ? `${operation} failed on ${failed.length} of ${outcomes.length} backends (the ${this.strategy} strategy is met): ${reasons}`
        : `${operation} reached ${succeeded.length} of ${outcomes.length} backends; the ${this.strategy} strategy needs ${this.needed}. ${reasons}.${undone}`;
    return new MultiRegistryError(code, message, { operation, strategy: this.strategy, succeeded, failed, compensated });
  }
}

/** One watch per backend, merged; a backend whose watch fails or ends is tried again. */
class MergedWatch {
  private readonly sets = new Map<string, ServiceInstance[]>();
  private readonly live = new Set<string>();
  private readonly stops = new Map<string, Stop>();
  private readonly retries = new Set<NodeJS.Timeout>();
  private stopped = false;
  private stale = false;

  constructor(
    private readonly multi: MultiRegistry,
    private readonly name: string,
    private readonly listener: InstancesListener,
    private readonly options: WatchOptions,
  ) {}

  async start(): Promise<Stop> {
    const outcomes = await Promise.allSettled(this.multi.registries.map((registry) => this.watch(registry)));
    if (this.live.size < this.multi.needed) {
      await this.stop();
      const failures = outcomes.flatMap((outcome, i) =>
        outcome.status === 'rejected' ? [`${this.multi.registries[i]!.backend}: ${messageOf(outcome.reason)}`] : [],
      );
      throw new SwitchboardError(
        'UNAVAILABLE',
        `watchService(${this.name}) reached ${this.live.size} of ${this.multi.registries.length} backends; the ${this.multi.strategy} strategy needs ${this.multi.needed}. ${failures.join('; ')}`,
      );
    }
    outcomes.forEach((outcome, i) => outcome.status === 'rejected' && this.retryLater(this.multi.registries[i]!));
    this.deliver();
    return () => this.stop();
  }

  private async watch(registry: Registry): Promise<void> {
    let started = false;
    const stop = await registry.watchService(
      this.name,
      (instances) => {
        this.sets.set(registry.backend, instances);
        this.live.add(registry.backend);
        if (started) this.deliver();
      },
      {
        onStale: () => {
          // Its last set stands (as a single backend's watch does); the merged watch is stale if too few answer.
          this.live.delete(registry.backend);
          this.checkStale();
        },
      },
    );
    started = true;
    if (this.stopped) return void (await stop());
    this.stops.set(registry.backend, stop);
  }

  private retryLater(registry: Registry): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      this.watch(registry).then(
        () => this.deliver(),
        () => this.retryLater(registry),
      );
    }, this.multi.rewatchMs);
    this.retries.add(timer);
  }

  private deliver(): void {
    if (this.stopped) return;
    const answers = this.multi.registries.flatMap((registry) => {
      const value = this.sets.get(registry.backend);
      return value ? [{ backend: registry.backend, value }] : [];
    });
    this.checkStale();
    this.listener(mergeInstances(answers));
  }

  private checkStale(): void {
    const stale = this.live.size < this.multi.needed;
    if (stale && !this.stale) this.options.onStale?.(new SwitchboardError('UNAVAILABLE', `watchService(${this.name}): too few backends answer.`));
    this.stale = stale;
  }

  private async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
    const stops = [...this.stops.values()];
    this.stops.clear();
    await Promise.all(stops.map((stop) => stop().catch(() => {})));
  }
}

/**
 * Instances merged by id across backends' answers (in the registries' order): the first backend's fields,
 * the worst health any reports, and the provenance of each.
 */
function mergeInstances(answers: readonly { backend: string; value: readonly ServiceInstance[] }[]): ServiceInstance[] {
  const merged = new Map<string, { base: ServiceInstance; seen: { backend: string; instance: ServiceInstance }[] }>();
  for (const { backend, value } of answers) {
    for (const instance of value) {
      const entry = merged.get(instance.id);
      if (entry) entry.seen.push({ backend, instance });
      else merged.set(instance.id, { base: instance, seen: [{ backend, instance }] });
    }
  }
  return [...merged.values()]
    .map(({ base, seen }) => {
      const worst = seen.reduce((a, b) => (rank(b.instance.health.status) > rank(a.instance.health.status) ? b : a)).instance.health;
      return { ...base, health: worst, provenance: { backends: seen.map((each) => each.backend), divergences: divergences(seen) } };
    })
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function divergences(seen: readonly { backend: string; instance: ServiceInstance }[]): Divergence[] {
  const fields: [Divergence['field'], (instance: ServiceInstance) => unknown][] = [
    ['address', (instance) => instance.address],
    ['port', (instance) => instance.port],
    ['health', (instance) => instance.health.status],
  ];
  return fields.flatMap(([field, read]) => {
    const values = Object.fromEntries(seen.map(({ backend, instance }) => [backend, read(instance)]));
    return new Set(Object.values(values)).size > 1 ? [{ field, values }] : [];
  });
}

function passing(instances: ServiceInstance[], passingOnly: boolean | undefined): ServiceInstance[] {
  return passingOnly ? instances.filter((instance) => instance.health.status === 'PASSING') : instances;
}

function rank(status: HealthStatusType): number {
  return HEALTH_ORDER.indexOf(status);
}

function codeOf(error: unknown): ErrorCode | undefined {
  return error instanceof SwitchboardError ? error.code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function warn(failure: MultiRegistryError): void {
  console.warn('switchboard multi-registry:', failure.message);
}
