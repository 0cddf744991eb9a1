import { randomUUID } from 'node:crypto';
import { SwitchboardError } from '@switchboard/contracts';
import { LoadBalancer, ServiceDiscovery, type Registry, type RegistryEvent, type ServiceInstance } from '@switchboard/sdk';
import { tsImport } from 'tsx/esm/api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { withTimeout } from '../../../../test/support/wait.js';
import type * as ConformanceServices from '../fixtures/conformance-services.js';

/**
 * One suite every backend runs (the way graphql-ws runs one suite over every server adapter): what the layers
 * above the `Registry` interface rely on — discovery, the push-fed cache, balancing, `start()` — behaves the
 * same over Switchboard, etcd, Consul, Kubernetes and a MultiRegistry.
 *
 * Call it at the top level of a test file:
 *
 *   describeRegistryConformance('etcd', { create: async () => new EtcdRegistry({ endpoints }), registers: true, config: true, events: true, components: true });
 *
 * A read-only backend (Kubernetes: the platform registers) sets `registers: false` and gives `place`, which puts
 * an instance in place the way the platform would; the suite then skips what needs `registerService`.
 */
export interface ConformanceOptions {
  /** A registry over the backend; the suite closes each one it made. */
  create(): Promise<Registry>;
  /** `registerService`/`unregisterService` work (false: they answer NOT_SUPPORTED, and `place` is given). */
  registers: boolean;
  /** For a backend that does not register: put an instance in place (resolves once written), and take it away. */
  place?: {
    add(instance: PlacedInstance): Promise<void>;
    remove(instance: PlacedInstance): Promise<void>;
  };
  /** setConfig, getConfig and watchConfig work. */
  config: boolean;
  /** publish and subscribe work. */
  events: boolean;
  /** registerComponent and the component reads work. */
  components: boolean;
}

export interface PlacedInstance {
  id: string;
  name: string;
  address: string;
  port: number;
}

const WAIT_MS = 10_000;

/** Retries `check` until it stops throwing (the backend may take a moment to show a write everywhere). */
const settles = <T>(check: () => T | Promise<T>): Promise<T> => vi.waitFor(check, { timeout: WAIT_MS, interval: 50 });

export function describeRegistryConformance(backendName: string, options: ConformanceOptions): void {
  describe(`Registry conformance: ${backendName}`, () => {
    const made: Registry[] = [];
    let registry: Registry;
    /** A second registry over the same backend: changes made through one are seen through the other. */
    let observer: Registry;
    const run = randomUUID().slice(0, 8);
    const unique = (what: string) => `conformance-${what}-${run}`;

    beforeAll(async () => {
      registry = await options.create();
      observer = await options.create();
      made.push(registry, observer);
    });
    afterAll(async () => {
      await Promise.all(made.map((each) => each.close()));
    });

    /** Adds an instance through the backend: registered, or placed the way the platform would. */
    async function add(instance: PlacedInstance): Promise<void> {
      if (options.registers) await registry.registerService({ ...instance, tags: ['conformance'], metadata: { run } });
      else await options.place!.add(instance);
    }
    async function remove(instance: PlacedInstance): Promise<void> {
      if (options.registers) await registry.unregisterService(instance.id);
      else await options.place!.remove(instance);
    }
    const instance = (name: string, n: number): PlacedInstance => ({ id: `${name}-${n}`, name, address: `127.0.0.${n}`, port: 7000 + n });

    it('names itself and answers a health probe', async () => {
      expect(registry.backend).toMatch(/\S/);
      const health = await registry.health();
      expect(health).toMatchObject({ backend: registry.backend, healthy: true, error: null });
      expect(health.latencyMs).toBeGreaterThanOrEqual(0);
    });

    it('finds what was added, with its address and port, and forgets what was removed', async () => {
      const name = unique('found');
      const first = instance(name, 1);
      await add(first);
      await add(instance(name, 2));
      const found = await settles(async () => {
        const instances = await observer.discoverServices(name);
        expect(instances.map((each) => each.id).sort()).toEqual([`${name}-1`, `${name}-2`]);
        return instances;
      });
      expect(found.find((each) => each.id === first.id)).toMatchObject({ name, address: first.address, port: first.port });
      expect((await observer.getService(first.id))?.name).toBe(name);
      await remove(first);
      await settles(async () => expect((await observer.discoverServices(name)).map((each) => each.id)).toEqual([`${name}-2`]));
      expect(await observer.getService(first.id)).toBeUndefined();
    });

    it('watchService delivers the whole set at once, then after each change', async () => {
      const name = unique('watched');
      await add(instance(name, 1));
      const sets: string[][] = [];
      const stop = await observer.watchService(name, (instances) => sets.push(ids(instances)));
      try {
        expect(sets[0]).toEqual([`${name}-1`]);
        await add(instance(name, 2));
        await settles(() => expect(sets.at(-1)).toEqual([`${name}-1`, `${name}-2`]));
        await remove(instance(name, 1));
        await settles(() => expect(sets.at(-1)).toEqual([`${name}-2`]));
      } finally {
        await stop();
      }
      // Stopped means stopped: a later change is not delivered.
      const delivered = sets.length;
      await add(instance(name, 3));
      await settles(async () => expect(ids(await observer.discoverServices(name))).toContain(`${name}-3`));
      expect(sets.length).toBe(delivered);
    });

    it('feeds a ServiceDiscovery cache by push, and a LoadBalancer picks from it', async () => {
      const name = unique('cached');
      await add(instance(name, 1));
      const discovery = new ServiceDiscovery({ registry: observer });
      try {
        await settles(async () => expect(ids(await discovery.instances(name))).toEqual([`${name}-1`]));
        const changed = new Promise<void>((resolve) => discovery.onChange((service) => service === name && resolve()));
        await add(instance(name, 2));
        await withTimeout(changed, WAIT_MS, 'the cache was not told of the new instance');
        await settles(() => expect(ids(discovery.cached(name)?.instances ?? [])).toEqual([`${name}-1`, `${name}-2`]));
        const balancer = new LoadBalancer({ strategy: 'ROUND_ROBIN' });
        const cached = discovery.cached(name)!.instances;
        expect(new Set([balancer.select(cached)?.id, balancer.select(cached)?.id])).toEqual(new Set([`${name}-1`, `${name}-2`]));
      } finally {
        await discovery.close();
      }
    });

    it('start() runs a @service (registered, where the backend registers) and finds its dependency through this backend', async () => {
      const upstream = unique('upstream');
      await add(instance(upstream, 1));
      const fixtures = (await tsImport('../fixtures/conformance-services.ts', import.meta.url)) as typeof ConformanceServices;
      const Caller = fixtures.callerOf(unique('caller'), upstream);
      const running = await fixtures.start(Caller, { registry, handleSignals: false, address: '127.0.0.1', dependencyTimeoutMs: WAIT_MS });
      try {
        expect(running.instance.upstream.url('/ping')).toBe(`http://127.0.0.1:7001/ping`);
        if (options.registers) await settles(async () => expect(await observer.getService(running.id)).toBeDefined());
      } finally {
        await running.stop();
      }
      if (options.registers) await settles(async () => expect(await observer.getService(running.id)).toBeUndefined());
    });

    it.runIf(options.registers)('refuses a bad definition before sending it, and nothing is written', async () => {
      const name = unique('bad');
      const refused = await registry.registerService({ id: `${name}-1`, name, port: 70_000 }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(SwitchboardError);
      expect(refused).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(await observer.discoverServices(name)).toEqual([]);
    });

    it.runIf(!options.registers)('answers NOT_SUPPORTED to a registration', async () => {
      const refused = await registry.registerService({ name: unique('refused') }).catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'NOT_SUPPORTED' });
      expect((refused as Error).message).toContain(registry.backend.split(' ')[0]);
    });

    it.runIf(options.config)('keeps configuration and tells a watcher of each change', async () => {
      const key = `conformance.${run}.limit`;
      const changes: unknown[][] = [];
      const stop = await observer.watchConfig(key, (...change) => changes.push(change));
      try {
        await registry.setConfig(key, { rps: 10 });
        await registry.setConfig(key, { rps: 20 });
        expect(await observer.getConfig(key)).toEqual({ rps: 20 });
        await settles(() =>
          expect(changes).toEqual([
            [key, undefined, { rps: 10 }],
            [key, { rps: 10 }, { rps: 20 }],
          ]),
        );
      } finally {
        await stop();
      }
      expect(await observer.getConfig(`conformance.${run}.absent`)).toBeUndefined();
    });

    it.runIf(options.events)('delivers a published event to a subscriber of its type pattern', async () => {
      const received: RegistryEvent[] = [];
      const stop = await observer.subscribe(`conformance${run}.*`, (event) => received.push(event));
      try {
        const published = await registry.publish({ type: `conformance${run}.ping`, source: 'conformance', data: { n: 1 } });
        await registry.publish({ type: `other${run}.ping`, source: 'conformance', data: { n: 2 } });
        await settles(() => expect(received.map((event) => event.id)).toEqual([published.id]));
        expect(received[0]).toMatchObject({ type: `conformance${run}.ping`, source: 'conformance', data: { n: 1 } });
      } finally {
        await stop();
      }
    });

    it.runIf(options.components)('catalogues components by type, and forgets one unregistered', async () => {
      const id = `conformance-step-${run}`;
      await registry.registerComponent({
        id,
        type: 'STEP',
        name: id,
        version: '1.2.0',
        dependencies: ['http-client@^1'],
        flows: ['checkout@^2', 'tag:payments'],
        provider: 'payments',
      });
      await registry.registerComponent({ id: `${id}-t`, type: 'TRANSFORMER', name: `${id}-t`, version: '1.0.0' });
      expect(await observer.getComponent(id)).toMatchObject({
        id,
        type: 'STEP',
        version: '1.2.0',
        dependencies: ['http-client@^1'],
        flows: ['checkout@^2', 'tag:payments'],
        provider: 'payments',
      });
      expect((await registry.getComponent(`${id}-t`))?.flows).toEqual([]);
      const steps = (await observer.listComponents('STEP')).map((component) => component.id);
      expect(steps).toContain(id);
      expect(steps).not.toContain(`${id}-t`);
      await registry.unregisterComponent(id);
      expect(await observer.getComponent(id)).toBeUndefined();
    });
  });
}

function ids(instances: readonly Pick<ServiceInstance, 'id'>[]): string[] {
  return instances.map((instance) => instance.id).sort();
}
