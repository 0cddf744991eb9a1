import { Etcd3, type Watcher } from 'etcd3';
import { Arrivals } from './sdk-arrivals.js';

/**
 * `count` etcd3 clients (each its own connection), each watching `prefix`: the etcd side of the SDK
 * caches. A key counts as arrived at a watcher when its put event does. Answers through Arrivals.
 */
const { endpoint, count, prefix } = JSON.parse(process.argv[2] ?? '{}') as { endpoint: string; count: number; prefix: string };
const arrivals = new Arrivals(count);
const clients: Etcd3[] = [];
const watchers: Watcher[] = [];

for (let index = 0; index < count; index++) {
  const client = new Etcd3({ hosts: endpoint });
  clients.push(client);
  const watcher = await client.watch().prefix(prefix).create();
  watcher.on('put', (kv) => arrivals.arrived(kv.key.toString()));
  watchers.push(watcher);
}
await arrivals.answer(async () => {
  await Promise.all(watchers.map((watcher) => watcher.cancel()));
  for (const client of clients) client.close();
});
