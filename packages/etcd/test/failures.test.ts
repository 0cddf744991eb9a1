import { SwitchboardError } from '@switchboard/contracts';
import { EtcdRegistry } from '@switchboard/etcd';
import type { ServiceInstance } from '@switchboard/sdk';
import { describe, expect, it, vi } from 'vitest';
import { eventually } from '../../../test/support/wait.js';
import { etcdMissing, freePort, startEtcd } from './support/etcd-server.js';
import { openClient, openRegistry, useEtcd } from './support/registries.js';
import { startSilentServer } from './support/tcp-proxy.js';

/** What goes wrong: no etcd, an etcd that hangs, refused credentials, values nobody should have written. */
const missing = etcdMissing();
if (missing) console.warn(`etcd tests skipped: ${missing}`);

async function failure(call: Promise<unknown>): Promise<{ error: SwitchboardError; ms: number }> {
  const started = Date.now();
  const error = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(SwitchboardError);
  return { error: error as SwitchboardError, ms: Date.now() - started };
}

describe('EtcdRegistry without an etcd', () => {
  it('fails the first call with UNAVAILABLE after the dial timeout when nothing listens, naming the backend', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const { registry } = openRegistry(`http://${address}`, { dialTimeout: '1s' });
    try {
      const { error, ms } = await failure(registry.discoverServices('anything'));
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.message).toContain(`etcd ${address}`);
      expect(error.message).toContain('did not answer within 1s');
      // Retried while refused, for the whole dial timeout, not longer.
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(4_000);
      expect((await failure(registry.registerService({ name: 'nowhere', port: 1 }))).error.code).toBe('UNAVAILABLE');
      expect((await failure(registry.watchService('anything', () => {}))).error.code).toBe('UNAVAILABLE');
      expect(await registry.health()).toMatchObject({
        backend: `etcd ${address}`,
        healthy: false,
        latencyMs: null,
        error: expect.stringContaining('did not answer'),
      });
    } finally {
      await registry.close();
    }
  });

  it('fails with UNAVAILABLE after the dial timeout when the server accepts connections but never answers', async () => {
    const silent = await startSilentServer();
    const { registry } = openRegistry(silent.endpoint, { dialTimeout: '1s' });
    try {
      const { error, ms } = await failure(registry.getConfig('api.timeout'));
      expect(error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining(`etcd ${silent.address} did not answer within 1s`) });
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(4_000);
    } finally {
      await registry.close();
      await silent.close();
    }
  });

  it('refuses options it cannot use before connecting', () => {
    expect(() => new EtcdRegistry({ servicePrefix: '/services' })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(() => new EtcdRegistry({ servicePrefix: '/a/', configPrefix: '/a/config/' })).toThrow(/overlap/);
    expect(() => new EtcdRegistry({ dialTimeout: 'soon' })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(() => new EtcdRegistry({ username: 'root' })).toThrow(/username and password/);
  });
});

describe.skipIf(missing !== undefined)('EtcdRegistry against a hostile etcd', () => {
  const etcd = useEtcd();

  it('skips malformed values under the service prefix, reports each once, and keeps discovering', async () => {
    const raw = openClient(etcd.server.endpoint);
    const { registry, warnings } = openRegistry(etcd.server.endpoint);
    const sets: string[][] = [];
    try {
      await registry.registerService({ id: 'good-1', name: 'mixed', address: '127.0.0.1', port: 7801 });
      await raw.client.put('/services/mixed/not-json').value('{oops');
      await raw.client.put('/services/mixed/an-array').value('[1,2]');
      await raw.client.put('/services/mixed/no-address').value('{"Op":0,"Metadata":{}}');
      await raw.client.put('/services/mixed/bad-tags').value('{"Addr":"127.0.0.1:1","tags":"api"}');
      await raw.client.put('/services/mixed/huge').value(JSON.stringify({ Addr: '127.0.0.1:2', tags: 'x'.repeat(1_000_000) }));
      await raw.client.put('/services/no-id-here').value('{"Addr":"127.0.0.1:3"}');

      const ids = (instances: ServiceInstance[]) => instances.map((instance) => instance.id);
      expect(ids(await registry.discoverServices('mixed'))).toEqual(['good-1']);
      expect(ids(await registry.discoverServices('mixed'))).toEqual(['good-1']);
      const stop = await registry.watchCatalog((instances) => sets.push(ids(instances)));
      expect(sets.at(-1)).toEqual(['good-1']);
      expect(warnings.filter((warning) => warning.includes('/services/mixed/not-json'))).toHaveLength(1);
      for (const key of ['an-array', 'no-address', 'bad-tags', 'huge']) expect(warnings.join('\n')).toContain(`/services/mixed/${key}`);
      expect(warnings.join('\n')).toContain('/services/no-id-here');
      expect(warnings.every((warning) => warning.startsWith(`etcd ${etcd.server.address}: `))).toBe(true);

      // A good value written over a bad one is picked up by the watch.
      await raw.client.put('/services/mixed/not-json').value('{"Addr":"127.0.0.1:7802"}');
      await eventually(() => (sets.at(-1)?.join() === 'good-1,not-json' ? true : undefined));
      await stop();
      await registry.unregisterService('good-1');
      await raw.client.delete().prefix('/services/');
    } finally {
      await Promise.all([registry.close(), raw.close()]);
    }
  });

  it('warns through console.warn unless told otherwise', async () => {
    const raw = openClient(etcd.server.endpoint);
    const registry = new EtcdRegistry({ endpoints: etcd.server.endpoint });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      await raw.client.put('/services/noisy/x').value('nope');
      expect(await registry.discoverServices('noisy')).toEqual([]);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('/services/noisy/x'));
    } finally {
      warn.mockRestore();
      await registry.close();
      await raw.client.delete().prefix('/services/');
      await raw.close();
    }
  });

  it('answers UNAUTHENTICATED, naming etcd, to wrong or missing credentials, and works with the right ones', async () => {
    const secured = await startEtcd();
    try {
      await secured.enableAuth('right-password');
      const wrong = openRegistry(secured.endpoint, { username: 'root', password: 'wrong-password' }).registry;
      const none = openRegistry(secured.endpoint).registry;
      const right = openRegistry(secured.endpoint, { username: 'root', password: 'right-password' }).registry;
      try {
        const refused = (await failure(wrong.discoverServices('payments'))).error;
        expect(refused.code).toBe('UNAUTHENTICATED');
        expect(refused.message).toContain(`etcd ${secured.address}`);
        expect((await failure(wrong.registerService({ name: 'payments', port: 1 }))).error.code).toBe('UNAUTHENTICATED');
        expect((await failure(none.getConfig('api.timeout'))).error.code).toBe('UNAUTHENTICATED');
        expect(await wrong.health()).toMatchObject({ healthy: false, error: expect.stringContaining('refused the credentials') });

        const sets: string[][] = [];
        const stop = await right.watchService('payments', (instances) => sets.push(instances.map((instance) => instance.id)));
        await right.registerService({ id: 'payments-1', name: 'payments', address: '127.0.0.1', port: 7901 });
        await eventually(() => (sets.at(-1)?.join() === 'payments-1' ? true : undefined));
        await stop();
      } finally {
        await Promise.all([wrong.close(), none.close(), right.close()]);
      }
    } finally {
      await secured.close();
    }
  });
});
