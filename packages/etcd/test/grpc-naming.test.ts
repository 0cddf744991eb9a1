import { describe, expect, it } from 'vitest';
import { etcdMissing } from './support/etcd-server.js';
import { openClient, openRegistry, useEtcd } from './support/registries.js';

/**
 * Interoperability with etcd's gRPC naming resolver (Go: go.etcd.io/etcd/client/v3/naming). A gRPC client
 * dialing "etcd:///<servicePrefix><service>" builds its target from the URL's path without its first "/",
 * lists `target + "/"` and decodes each value with encoding/json into
 * `struct { Op uint8; Addr string; Metadata any }` (endpoints_impl.go, NewWatchChannel). This test does
 * exactly that, JSON names matched as encoding/json matches them (exact, else case-insensitively).
 */
const missing = etcdMissing();
if (missing) console.warn(`etcd tests skipped: ${missing}`);

interface GoUpdate {
  Op: number;
  Addr: string;
  Metadata: unknown;
}

/** encoding/json into internal.Update: unknown fields ignored, a field matched exactly or else case-insensitively. */
function goUnmarshalUpdate(value: string): GoUpdate {
  const object = JSON.parse(value) as Record<string, unknown>;
  const update: GoUpdate = { Op: 0, Addr: '', Metadata: null };
  for (const [name, item] of Object.entries(object)) {
    const field =
      (['Op', 'Addr', 'Metadata'] as const).find((candidate) => candidate === name) ??
      (['Op', 'Addr', 'Metadata'] as const).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
    if (field === 'Op') {
      if (!Number.isInteger(item) || (item as number) < 0 || (item as number) > 255)
        throw new Error(`json: cannot unmarshal ${JSON.stringify(item)} into Go struct field Update.Op of type uint8`);
      update.Op = item as number;
    } else if (field === 'Addr') {
      if (typeof item !== 'string') throw new Error(`json: cannot unmarshal ${typeof item} into Go struct field Update.Addr of type string`);
      update.Addr = item;
    } else if (field === 'Metadata') {
      update.Metadata = item;
    }
  }
  return update;
}

/** What grpc-go and the resolver make of "etcd:///…": the URL's path, its first "/" trimmed. */
function resolverTarget(dialTarget: string): string {
  const url = new URL(dialTarget);
  return url.pathname.replace(/^\//, '');
}

describe.skipIf(missing !== undefined)("EtcdRegistry and etcd's gRPC naming resolver", () => {
  const etcd = useEtcd();

  it('writes instances a gRPC client dialing etcd:///<servicePrefix><service> resolves', async () => {
    const { registry } = openRegistry(etcd.server.endpoint);
    const raw = openClient(etcd.server.endpoint);
    try {
      await registry.registerService({ id: 'greeter-1', name: 'greeter', address: '10.1.2.3', port: 50051, metadata: { zone: 'eu-1' }, tags: ['grpc'] });
      await registry.registerService({ id: 'greeter-2', name: 'greeter', address: '2001:db8::7', port: 50052 });

      const target = resolverTarget('etcd:///' + '/services/greeter');
      expect(target).toBe('/services/greeter');
      // NewWatchChannel: Get(target + "/", WithPrefix()), each value unmarshalled, an error skipping it.
      const { kvs } = await raw.client.getAll().prefix(`${target}/`).exec();
      const updates = kvs.map((kv) => ({ key: kv.key.toString(), ...goUnmarshalUpdate(kv.value.toString()) }));
      expect(updates).toEqual([
        { key: '/services/greeter/greeter-1', Op: 0, Addr: '10.1.2.3:50051', Metadata: { zone: 'eu-1' } },
        { key: '/services/greeter/greeter-2', Op: 0, Addr: '[2001:db8::7]:50052', Metadata: {} },
      ]);
      // No field of Switchboard's own is taken by Go for one of its three.
      for (const kv of kvs) {
        const names = Object.keys(JSON.parse(kv.value.toString()) as object);
        expect(names.filter((name) => ['op', 'addr', 'metadata'].includes(name.toLowerCase()))).toEqual(['Op', 'Addr', 'Metadata']);
      }
      await registry.unregisterService('greeter-1');
      await registry.unregisterService('greeter-2');
    } finally {
      await Promise.all([registry.close(), raw.close()]);
    }
  });

  it('discovers endpoints a Go service added with endpoints.Manager.AddEndpoint', async () => {
    const { registry } = openRegistry(etcd.server.endpoint);
    const raw = openClient(etcd.server.endpoint);
    try {
      // em.AddEndpoint(ctx, service+"/"+addr, endpoints.Endpoint{Addr: addr}, clientv3.WithLease(lid)) writes this.
      const lease = raw.client.lease(10);
      await lease.put('/services/legacy/10.0.0.9:9000').value('{"Op":0,"Addr":"10.0.0.9:9000","Metadata":null}');
      const [instance] = await registry.discoverServices('legacy');
      expect(instance).toMatchObject({ id: '10.0.0.9:9000', name: 'legacy', address: '10.0.0.9', port: 9000, metadata: {}, health: { status: 'PASSING' } });
      await lease.revoke();
      expect(await registry.discoverServices('legacy')).toEqual([]);
    } finally {
      await Promise.all([registry.close(), raw.close()]);
    }
  });
});
