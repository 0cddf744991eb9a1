import type { RegistryEvent } from '@switchboard/sdk';
import { describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/wait.js';
import { endpointSlice, pod, useStandIn } from './support/cluster.js';

/** What the platform does instead (registration), what a ConfigMap gives (configuration), and events derived from changes. */
const cluster = useStandIn();

describe('KubernetesRegistry beyond discovery', () => {
  it('answers NOT_SUPPORTED, naming the backend, to registration, health checks, components and publishing', async () => {
    const registry = cluster.registry({ namespace: 'plain' });
    try {
      const refusals = await Promise.all(
        [
          registry.registerService({ name: 'web', port: 8080 }),
          registry.unregisterService('web-a'),
          registry.renewService('web-a'),
          registry.registerHealthCheck('web-a', { name: 'http', http: 'http://10.0.0.1/health', interval: '10s' }),
          registry.registerComponent({ type: 'STEP', name: 'step', version: '1.0.0' }),
          registry.unregisterComponent('step'),
          registry.getComponent('step'),
          registry.listComponents(),
          registry.publish({ type: 'deploy.done', source: 'ci' }),
          registry.setConfig('limit', 1),
          registry.getConfig('limit'),
          registry.watchConfig('limit', () => {}),
          registry.subscribe('config.changed', () => {}),
        ].map((call) =>
          call.then(
            () => undefined,
            (error: unknown) => error as { code: string; message: string },
          ),
        ),
      );
      for (const refusal of refusals) {
        expect(refusal).toMatchObject({ code: 'NOT_SUPPORTED' });
        expect(refusal!.message).toContain(`${registry.backend}: not supported by the Kubernetes backend: `);
      }
      expect(refusals[0]!.message).toContain('the platform registers');
      // Nothing was sent for any of them.
      expect(cluster.standIn.requests.filter((request) => request.path.includes('/namespaces/plain/'))).toEqual([]);
    } finally {
      await registry.close();
    }
  });

  it('reads configuration from a ConfigMap, and tells a watcher of each change', async () => {
    const namespace = 'configured';
    const registry = cluster.registry({ namespace, configMap: 'switchboard' });
    const changes: unknown[][] = [];
    try {
      expect(await registry.getConfig('limit')).toBeUndefined();
      const stop = await registry.watchConfig('limit', (...change) => changes.push(change));
      cluster.standIn.apply('configmaps', { metadata: { name: 'switchboard', namespace }, data: { limit: '{"rps":10}', greeting: 'hello' } });
      await eventually(() => (changes.length === 1 ? true : undefined));
      expect(await registry.getConfig('limit')).toEqual({ rps: 10 });
      expect(await registry.getConfig('greeting')).toBe('hello');
      expect(await registry.getConfig('absent')).toBeUndefined();
      // Another key's change is not this watcher's; then its own changes, and the ConfigMap deleted.
      cluster.standIn.apply('configmaps', { metadata: { name: 'switchboard', namespace }, data: { limit: '{"rps":10}', greeting: 'hi' } });
      cluster.standIn.apply('configmaps', { metadata: { name: 'other', namespace }, data: { limit: '1' } });
      cluster.standIn.apply('configmaps', { metadata: { name: 'switchboard', namespace }, data: { limit: '20', greeting: 'hi' } });
      cluster.standIn.remove('configmaps', namespace, 'switchboard');
      await eventually(() => (changes.length === 3 ? true : undefined));
      expect(changes).toEqual([
        ['limit', undefined, { rps: 10 }],
        ['limit', { rps: 10 }, 20],
        ['limit', 20, undefined],
      ]);
      await stop();
      await expect(registry.setConfig('limit', 5)).rejects.toMatchObject({ code: 'NOT_SUPPORTED', message: expect.stringContaining('change the ConfigMap') });
    } finally {
      await registry.close();
    }
  });

  it('tells subscribers of instances registered, unregistered and changing health, derived from the informers', async () => {
    const namespace = 'eventful';
    cluster.standIn.apply('pods', pod('web-a', { namespace }));
    cluster.standIn.apply('endpointslices', endpointSlice('web-1', { namespace, service: 'web', endpoints: [{ address: '10.0.0.1', pod: 'web-a' }] }));
    const registry = cluster.registry({ namespace });
    const events: RegistryEvent[] = [];
    const health: RegistryEvent[] = [];
    try {
      const stop = await registry.subscribe(['service.registered', 'service.unregistered'], (event) => events.push(event));
      const stopHealth = await registry.subscribe('service.health.*', (event) => health.push(event));
      cluster.standIn.apply('pods', pod('web-b', { namespace }));
      cluster.standIn.apply(
        'endpointslices',
        endpointSlice('web-1', {
          namespace,
          service: 'web',
          endpoints: [
            { address: '10.0.0.1', pod: 'web-a', ready: false },
            { address: '10.0.0.2', pod: 'web-b' },
          ],
        }),
      );
      await eventually(() => (events.length === 1 && health.length === 1 ? true : undefined));
      expect(events[0]).toMatchObject({
        type: 'service.registered',
        source: registry.backend,
        data: { id: 'web-b.web.eventful', name: 'web', service_id: 'web-b.web.eventful', service_name: 'web', address: '10.0.0.2:8080', created: true },
      });
      expect(health[0]).toMatchObject({
        type: 'service.health.changed',
        data: { id: 'web-a.web.eventful', from: 'PASSING', to: 'CRITICAL', instanceTo: 'CRITICAL' },
      });
      cluster.standIn.remove('endpointslices', namespace, 'web-1');
      await eventually(() => (events.length === 3 ? true : undefined));
      expect(events.slice(1).map((event) => `${event.type} ${event.data['id']} ${event.data['reason']}`)).toEqual([
        'service.unregistered web-a.web.eventful deregistered',
        'service.unregistered web-b.web.eventful deregistered',
      ]);
      expect(new Set(events.map((event) => event.id)).size).toBe(3);
      await Promise.all([stop(), stopHealth()]);
    } finally {
      await registry.close();
    }
  });
});
