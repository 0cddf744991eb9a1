import { createServer } from 'node:http';
import { connectDatabase } from '../../src/db/client.js';
import { EventFeed } from '../../src/events/feed.js';
import { createLogger } from '../../src/logger.js';
import { Catalog, discover } from '../../src/registry/catalog/index.js';
import { effectiveStatus } from '../../src/registry/health/index.js';
import type { ServiceInstance } from '../../src/registry/instances/model.js';

/**
 * The GraphQL-overhead baseline: the same in-memory catalog and the same JSON as
 * the benchmark's discoverServices query, served by a bare Node http handler.
 * Prints its port once listening.
 */
const databaseUrl = process.argv[2]!;
const log = createLogger('warn');
const database = connectDatabase(databaseUrl, { poolSize: 2 });
const feed = new EventFeed(database.db, database.sql, log);
await feed.start();
const catalog = new Catalog(database.db, feed, log);
await catalog.start();

/** Exactly the fields the GraphQL query in bench/discovery.ts selects. */
const toJson = (instance: ServiceInstance) => ({
  id: instance.id,
  name: instance.name,
  version: instance.version,
  address: instance.address,
  port: instance.port,
  tags: instance.tags,
  metadata: instance.metadata,
  weight: instance.weight,
  priority: instance.priority,
  health: { status: effectiveStatus(instance) },
});

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const { variables } = JSON.parse(Buffer.concat(chunks).toString()) as { variables: { name: string } };
    const body = JSON.stringify({ data: { discoverServices: discover(catalog, { name: variables.name }).map(toJson) } });
    response.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(typeof address === 'object' && address ? address.port : 0);
});
