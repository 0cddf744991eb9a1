import { networkInterfaces } from 'node:os';
import { formatDuration, parseDuration, SwitchboardError } from '@switchboard/contracts';
import type { Registry, ServiceInstance, Stop } from '../registry/registry.js';
import type { DependencyDeclaration, ServiceDeclaration } from './declaration.js';
import { describeService } from './decorators.js';
import { toDefinition } from './declaration.js';

export interface StartOptions {
  registry: Registry;
  /** The address to register; default: the `@service` option, else this host's first non-loopback IPv4 address. */
  address?: string;
  /** How long to wait for every dependency to have a passing instance (default 30s). */
  dependencyTimeoutMs?: number;
  /** Deregister and exit on SIGTERM and SIGINT (default true). */
  handleSignals?: boolean;
}

/** What `@dependency` fields hold until the full ServiceClient arrives: where a passing instance listens. */
export interface DependencyClient {
  readonly service: string;
  /** "http://host:port" of a passing instance (round robin over those found at start), plus `path`. */
  url(path?: string): string;
}

export interface RunningService<T> {
  instance: T;
  /** The registered instance's id. */
  id: string;
  /** Deregisters first, then stops renewing and watching. */
  stop(): Promise<void>;
}

/**
 * The seed's flow: Register → Discover Dependencies → Ready to Run. Registers the class's instance (with its
 * HTTP check, or a lease renewed at a third of its length), waits for a passing instance of each dependency,
 * driven by service events rather than polling, then fills in `@dependency` and `@config` fields (the latter
 * kept current) and returns the ready instance.
 */
export async function start<T extends object>(Class: new () => T, options: StartOptions): Promise<RunningService<T>> {
  const declaration = describeService(Class);
  const { registry } = options;
  const definition = toDefinition(declaration, options.address ?? declaration.address ?? detectAddress());
  const id = definition.id!;
  const stops: Stop[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await registry.unregisterService(id).catch((error: unknown) => {
      if (!(error instanceof SwitchboardError && error.code === 'NOT_FOUND')) throw error;
    });
    await Promise.all(stops.splice(0).map((each) => each()));
  };

  try {
    await registry.registerService(definition);
    if (definition.ttl != null) stops.push(renewEvery(registry, id, leaseMs(definition.ttl) / 3));

    const found = await waitForDependencies(registry, declaration, options.dependencyTimeoutMs ?? 30_000);
    const instance = new Class();
    for (const { service, set } of declaration.dependencyFields) set(instance, dependencyClient(service, found.get(service)!));
    for (const { key, set } of declaration.configFields) {
      // Watch before reading, so a change between the two is not missed.
      stops.push(await registry.watchConfig(key, (_key, _old, value) => value !== undefined && set(instance, value)));
      const value = await registry.getConfig(key);
      if (value !== undefined) set(instance, value);
    }
    if (options.handleSignals !== false) stops.push(exitOnSignal(stop));
    return { instance, id, stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

/**
 * Resolves with the passing instances of every dependency once each has one. Subscribes to service events
 * first, then looks, so an instance that turns passing in between is not missed.
 */
async function waitForDependencies(registry: Registry, declaration: ServiceDeclaration, timeoutMs: number): Promise<Map<string, ServiceInstance[]>> {
  const found = new Map<string, ServiceInstance[]>();
  const missing = new Map(declaration.dependencies.map((dependency) => [dependency.service, dependency]));
  if (missing.size === 0) return found;

  let settle!: (error?: Error) => void;
  const settled = new Promise<void>((resolve, reject) => (settle = (error) => (error ? reject(error) : resolve())));
  settled.catch(() => {}); // awaited below; a failure while the first look runs must not count as unhandled
  const look = async (dependency: DependencyDeclaration) => {
    const instances = await registry.discoverServices(dependency.service, {
      passingOnly: true,
      version: dependency.range === '*' ? undefined : dependency.range,
    });
    if (instances.length === 0 || !missing.has(dependency.service)) return;
    missing.delete(dependency.service);
    found.set(dependency.service, instances);
    if (missing.size === 0) settle();
  };
  const lookAgain = (service: unknown) => {
    const dependency = typeof service === 'string' ? missing.get(service) : undefined;
    if (dependency) look(dependency).catch(settle);
  };

  const stopWatching = await registry.subscribe(['service.registered', 'service.health.changed'], (event) => lookAgain(event.data['service_name']));
  const timer = setTimeout(() => {
    const names = [...missing.values()].map((dependency) => (dependency.range === '*' ? dependency.service : `${dependency.service}@${dependency.range}`));
    settle(new Error(`${declaration.className} is not ready: no passing instance of ${names.join(', ')} after ${formatDuration(timeoutMs)}.`));
  }, timeoutMs);
  try {
    await Promise.all([...missing.values()].map(look));
    await settled;
    return found;
  } finally {
    clearTimeout(timer);
    await stopWatching();
  }
}

function dependencyClient(service: string, instances: ServiceInstance[]): DependencyClient {
  let next = 0;
  return {
    service,
    url(path = '') {
      const instance = instances[next++ % instances.length]!;
      const host = instance.address.includes(':') ? `[${instance.address}]` : instance.address;
      return `http://${host}${instance.port == null ? '' : `:${instance.port}`}${path}`;
    },
  };
}

function renewEvery(registry: Registry, id: string, everyMs: number): Stop {
  // A renewal that fails is retried at the next tick; the lease outlasts two of them.
  const timer = setInterval(() => registry.renewService(id).catch(() => {}), everyMs);
  timer.unref();
  return async () => clearInterval(timer);
}

function leaseMs(ttl: string | number): number {
  return typeof ttl === 'number' ? ttl : parseDuration(ttl)!;
}

/** On SIGTERM or SIGINT: deregister first (callers stop choosing this instance), then exit. */
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
