import { Etcd3 } from 'etcd3';
import { main, runLoops } from './loops.js';

/** etcd through the etcd3 client: prefix range reads, or puts with a lease, in closed loops. */
await main(
  async ({
    endpoint,
    mode,
    concurrency,
    seconds,
    prefix,
  }: {
    endpoint: string;
    mode: 'range' | 'put';
    concurrency: number;
    seconds: number;
    prefix: string;
  }) => {
    const client = new Etcd3({ hosts: endpoint });
    try {
      if (mode === 'range') {
        return await runLoops(concurrency, seconds, async () => {
          const values = await client.getAll().prefix(prefix).strings();
          if (Object.keys(values).length === 0) throw new Error('empty range');
        });
      }
      // A lease per loop, as each registering agent would hold one; every put is a registration.
      const leases = await Promise.all(Array.from({ length: concurrency }, () => client.lease(3600, { autoKeepAlive: false }).grant()));
      const value = JSON.stringify({ name: 'bench', version: '1.0.0', address: '10.1.0.1', port: 8080, tags: ['bench'] });
      return await runLoops(concurrency, seconds, async (loop, iteration) => {
        await client.put(`${prefix}${loop}-${iteration}`).value(value).lease(leases[loop]!);
      });
    } finally {
      client.close();
    }
  },
);
