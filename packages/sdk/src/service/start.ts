import { networkInterfaces } from 'node:os';
import { formatDuration, SwitchboardError } from '@switchboard/contracts';
import { SwitchboardClient } from '@switchboard/client';
import type { BalancingStrategy } from '../balancer/load-balancer.js';
import { DiscoveryError } from '../discovery/errors.js';
import { clientOf, ServiceDiscovery } from '../discovery/service-discovery.js';
import type { Registry, Stop } from '../registry/registry.js';
import { SwitchboardRegistry } from '../registry/switchboard-registry.js';
import { CircuitBreakerRegistry, type CircuitBreakerOptions } from '../resilience/breakers.js';
import { discoveryPicker } from '../resilience/discovery-picker.js';
import { InFlightCalls } from '../resilience/in-flight.js';
import { OutcomeReporter } from '../resilience/outcome-reporter.js';
import { ServiceClient, type ServiceClientOptions } from '../resilience/service-client.js';
import type { DependencyDeclaration, ServiceDeclaration } from './declaration.js';
import { ServiceDeclarationError, toDefinition } from './declaration.js';
import { describeService } from './decorators.js';
import { declaredComponents } from './component.js';
import { generatedDeclaration, generatedRegistry, type GeneratedComponent } from './generated.js';
import { RegistrationKeeper } from './registration-keeper.js';

export interface StartOptions {
  /**
   * Where to register and discover; default a SwitchboardRegistry over the server at `SWITCHBOARD_URL`
   * (several comma-separated; default http://127.0.0.1:4000/graphql) with the token in `SWITCHBOARD_TOKEN`.
   */
  registry?: Registry;
  /** The address to register; default: the `@service` option, else this host's first non-loopback IPv4 address. */
  address?: string;
  /** The port to register; default the `@service` option (a constant `scan` can read; this overrides it at run time). */
  port?: number;
  /** How long to wait for every dependency to have a passing instance (default 30s). */
  dependencyTimeoutMs?: number;
  /** Deregister, let calls in flight finish, and exit on SIGTERM and SIGINT (default true). */
  handleSignals?: boolean;
  /** How long stopping waits for dependency calls in flight after deregistering (default 10s). */
  drainTimeoutMs?: number;
  /** The cache the dependencies are discovered through; default one over the SwitchboardRegistry's client. */
  discovery?: ServiceDiscovery;
  /** Where every dependency call's outcome goes; default one over the SwitchboardRegistry's client, `false` for none. */
  reporter?: OutcomeReporter | false;
  /** How dependencies are called: the balancing strategy, the breakers, retries and timeouts of each ServiceClient. */
  calls?: DependencyCallOptions;
  /**
   * Bind the instance to the registry client's WebSocket session instead of a lease (default: the `@service`
   * option, else false): no renewal traffic, and a process that dies without deregistering is removed after the
   * registry's grace period. Not with a `ttl` health check.
   */
  ephemeral?: boolean;
  /** A re-registration the registry refuses (bad input, forbidden); default: logged. */
  onError?: (error: unknown) => void;
}

export interface DependencyCallOptions extends Pick<ServiceClientOptions, 'retry' | 'tryTimeoutMs' | 'timeoutMs' | 'scheme' | 'fetch'> {
  /** Default ROUND_ROBIN. */
  strategy?: BalancingStrategy;
  /** Each dependency gets a CircuitBreakerRegistry of its own with these options. */
  breakers?: CircuitBreakerOptions;
}

export interface RunningService<T> {
  instance: T;
  /** The registered instance's id. */
  id: string;
  /** Deregisters first, then lets dependency calls in flight finish (up to `drainTimeoutMs`), then stops renewing and watching. */
  stop(): Promise<void>;
  /** Registrations sent so far: the first, and each after the registry lost the instance. */
  registrations(): number;
  /** Where the declaration came from: a generated module (`switchboard generate`) or the class's decorators. */
  declaredBy: 'generated' | 'decorators';
  /** The ids of the components this service provides (`provider`), registered in dependency order at start. */
  components: string[];
}

/**
 * The seed's flow: Register → Discover Dependencies → Ready to Run. Registers the class's instance (with its
 * HTTP check, or a lease renewed at a third of its length), waits through the discovery cache for a passing
 * instance of each dependency, then fills in `@dependency` fields with a ServiceClient over that cache (its
 * calls counted, so stopping waits for them) and `@config` fields (kept current), and returns the ready instance.
 */
export async function start<T extends object>(Class: new () => T, given: StartOptions = {}): Promise<RunningService<T>> {
  // A generated module, once imported, answers by class name: no decorator metadata is read.
  const generated = generatedDeclaration(Class.name);
  const declaration = generated ?? describeService(Class);
  const ownRegistry = given.registry ? undefined : registryFromEnvironment();
  const registry = given.registry ?? ownRegistry!;
  const options = { ...given, registry };
  const definition = toDefinition({ ...declaration, port: options.port ?? declaration.port }, options.address ?? declaration.address ?? detectAddress());
  const id = definition.id!;
  const ephemeral = options.ephemeral ?? declaration.ephemeral;
  if (ephemeral && definition.ttl != null) {
    throw new ServiceDeclarationError(
      declaration.className,
      'healthCheck.ttl',
      'an ephemeral service is kept by its connection, not a lease: leave the ttl out',
    );
  }
  const keeper = new RegistrationKeeper({ registry, definition: { ...definition, id }, ephemeral, ...(options.onError ? { onError: options.onError } : {}) });
  const stops: Stop[] = [];
  const inFlight = new InFlightCalls();
  let stopped = false;
  /** False on a backend that registers nothing (Kubernetes: the platform does): nothing to deregister either. */
  let registered = true;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Stopping starts here: nothing registers the instance again, and a registration in flight is answered
    // before the deregistration is sent, so it cannot arrive after it and undo it.
    await keeper.halt();
    // Deregistered first, so callers stop choosing this instance while its own calls finish.
    if (registered) {
      await registry.unregisterService(id).catch((error: unknown) => {
        if (!(error instanceof SwitchboardError && error.code === 'NOT_FOUND')) throw error;
      });
    }
    await inFlight.drain(options.drainTimeoutMs ?? 10_000);
    await Promise.all([keeper.close(), ...stops.splice(0).map((each) => each())]);
    await ownRegistry?.client.close();
  };

  try {
    registered = await keeper.start().then(
      () => true,
      async (error: unknown) => {
        // By code, not class: the backend's package may hold another copy of @switchboard/contracts.
        if ((error as Partial<SwitchboardError> | undefined)?.code !== 'NOT_SUPPORTED') throw error;
        // The platform registers the service (Kubernetes): it runs, and finds its dependencies, all the same.
        await keeper.close();
        return false;
      },
    );

    const components = await registerProvidedComponents(registry, declaration.name, generated !== undefined);
    const calls = declaration.dependencies.length === 0 ? undefined : dependencyCalls(options, stops);
    if (calls) await waitForDependencies(calls.discovery, declaration, options.dependencyTimeoutMs ?? 30_000);
    const instance = new Class();
    for (const { service, set } of declaration.dependencyFields) set(instance, calls!.client(service, declaration, inFlight));
    for (const { key, set } of declaration.configFields) {
      // Watch before reading, so a change between the two is not missed.
      stops.push(await registry.watchConfig(key, (_key, _old, value) => value !== undefined && set(instance, value)));
      const value = await registry.getConfig(key);
      if (value !== undefined) set(instance, value);
    }
    if (options.handleSignals !== false) stops.push(exitOnSignal(stop));
    return { instance, id, stop, registrations: () => keeper.registrations, declaredBy: generated ? 'generated' : 'decorators', components };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

/**
 * Registers the components `service` provides, each after those it depends on: from the generated module (already
 * in dependency order) or else from the `@component` classes evaluated so far. A backend without a component
 * catalogue (NOT_SUPPORTED) registers none.
 */
async function registerProvidedComponents(registry: Registry, service: string, fromGenerated: boolean): Promise<string[]> {
  const all = fromGenerated ? (generatedRegistry()?.components ?? []) : dependencyOrder(declaredComponents());
  const provided = all.filter((component) => component.provider === service);
  const ids: string[] = [];
  for (const { id, type, name, version, description, dependencies, metadata, flows, provider } of provided) {
    try {
      await registry.registerComponent({ id, type, name, version, description, dependencies, metadata, flows, provider });
    } catch (error) {
      if ((error as Partial<SwitchboardError> | undefined)?.code === 'NOT_SUPPORTED') return [];
      throw error;
    }
    ids.push(id);
  }
  return ids;
}

/** Each component after the ones it names (by id or name) among `components`; a cycle keeps declaration order. */
function dependencyOrder<C extends GeneratedComponent>(components: readonly C[]): C[] {
  const order: C[] = [];
  const state = new Map<C, 'visiting' | 'done'>();
  const visit = (component: C) => {
    if (state.has(component)) return;
    state.set(component, 'visiting');
    for (const spec of component.dependencies) {
      const reference = spec.slice(0, spec.indexOf('@', 1) < 0 ? undefined : spec.indexOf('@', 1));
      const target = components.find((other) => other.id === reference || other.name === reference);
      if (target) visit(target);
    }
    state.set(component, 'done');
    order.push(component);
  };
  components.forEach(visit);
  return order;
}

/** The registry `start(Class)` uses when given none: the Switchboard server the environment names. */
function registryFromEnvironment(): SwitchboardRegistry {
  if (!(globalThis as { WebSocket?: unknown }).WebSocket) {
    throw new Error(
      'start: this runtime has no global WebSocket (Node before 22), which the default registry needs for its subscriptions: ' +
        'pass `registry: new SwitchboardRegistry(new SwitchboardClient({ url, webSocketImpl: WebSocket }))` with `ws`.',
    );
  }
  const urls = (process.env['SWITCHBOARD_URL'] ?? 'http://127.0.0.1:4000/graphql').split(',').map((url) => url.trim());
  return new SwitchboardRegistry(new SwitchboardClient({ url: urls, token: process.env['SWITCHBOARD_TOKEN'] }));
}

/** The discovery cache and the outcome reporter every dependency shares; what start made, it closes on stop. */
function dependencyCalls(options: StartOptions & { registry: Registry }, stops: Stop[]) {
  const client = clientOf(options.registry);
  let discovery = options.discovery;
  if (!discovery) {
    // A SwitchboardRegistry's client carries one subscription for every dependency; another backend is watched.
    discovery = new ServiceDiscovery({ registry: client ?? options.registry });
    const owned = discovery;
    stops.push(() => owned.close());
  }
  let reporter = options.reporter === false ? undefined : options.reporter;
  // Outcome reports feed Switchboard's breakers and outlier view; other backends have nowhere to take them.
  if (options.reporter === undefined && client) {
    const owned = new OutcomeReporter({ client });
    reporter = owned;
    stops.push(() => owned.close());
  }
  const { strategy, breakers, ...callOptions } = options.calls ?? {};
  return {
    discovery,
    client(service: string, declaration: ServiceDeclaration, inFlight: InFlightCalls): ServiceClient {
      const range = declaration.dependencies.find((dependency) => dependency.service === service)?.range;
      const registry = new CircuitBreakerRegistry(breakers);
      const picker = discoveryPicker(discovery, service, { ...(range ? { version: range } : {}), ...(strategy ? { strategy } : {}), breakers: registry });
      stops.push(async () => picker.close());
      return new ServiceClient({ ...callOptions, service, picker, breakers: registry, inFlight, ...(reporter ? { reporter } : {}) });
    },
  };
}

/**
 * Resolves once every dependency has a passing instance in range in the discovery cache: the first lookup asks
 * the registry and subscribes, later changes are pushed (no polling). A registry that cannot be reached is
 * asked again every second until the timeout.
 */
async function waitForDependencies(discovery: ServiceDiscovery, declaration: ServiceDeclaration, timeoutMs: number): Promise<void> {
  const missing = new Map(declaration.dependencies.map((dependency) => [dependency.service, dependency]));
  const filterOf = (dependency: DependencyDeclaration) => (dependency.range === '*' ? {} : { version: dependency.range });
  let settle!: (error?: Error) => void;
  const settled = new Promise<void>((resolve, reject) => (settle = (error) => (error ? reject(error) : resolve())));
  let done = false;
  settled.then(
    () => (done = true),
    () => (done = true),
  );
  const check = (service: string) => {
    const dependency = missing.get(service);
    if (!dependency || !discovery.cached(service, filterOf(dependency))?.instances.length) return;
    missing.delete(service);
    if (missing.size === 0) settle();
  };
  const look = (dependency: DependencyDeclaration): void => {
    discovery.discover(dependency.service, filterOf(dependency), { timeoutMs }).then(
      () => check(dependency.service),
      (error: unknown) => {
        if (!(error instanceof DiscoveryError)) return settle(error instanceof Error ? error : new Error(String(error)));
        if (!done) setTimeout(() => !done && look(dependency), 1000).unref();
      },
    );
  };
  const stopListening = discovery.onChange(check);
  const timer = setTimeout(() => {
    const names = [...missing.values()].map((dependency) => (dependency.range === '*' ? dependency.service : `${dependency.service}@${dependency.range}`));
    settle(
      new SwitchboardError(
        'UNAVAILABLE',
        `${declaration.className} is not ready: no passing instance of ${names.join(', ')} after ${formatDuration(timeoutMs)}.`,
        {
          services: [...missing.keys()],
        },
      ),
    );
  }, timeoutMs);
  try {
    for (const dependency of missing.values()) look(dependency);
    await settled;
  } finally {
    clearTimeout(timer);
    stopListening();
  }
}

/** On SIGTERM or SIGINT: deregister first (callers stop choosing this instance), let calls in flight finish, then exit. */
function exitOnSignal(stop: () => Promise<void>): Stop {
  const onSignal = () => {
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('switchboard: deregistering on exit failed:', error);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal).once('SIGINT', onSignal);
  return async () => {
    process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
  };
}

function detectAddress(): string {
  const addresses = Object.values(networkInterfaces()).flatMap((entries) => entries ?? []);
  return addresses.find((entry) => entry.family === 'IPv4' && !entry.internal)?.address ?? '127.0.0.1';
}
