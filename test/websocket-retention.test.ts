import { IncomingMessage } from 'node:http';
import { queryObjects } from 'node:v8';
import { RequestCache } from '@pothos/plugin-scope-auth';
import { describe, expect, it } from 'vitest';
import { OnConfigChangedDocument, SetConfigDocument } from '@switchboard/client';
import { take } from './support/client.js';
import { useRegistryNode } from './support/nodes.js';
import { untilOpenSubscriptions } from './support/subscriptions.js';

const registry = useRegistryNode();

/** Each on a connection of its own, as the fan-out benchmark's subscribers are. */
const SUBSCRIBERS = 20;

/** Live objects made by `constructor`, counted after a full garbage collection (the client side, in this process, holds none). */
const live = (constructor: new (...args: never[]) => unknown) => queryObjects(constructor, { format: 'count' });

describe('what an open WebSocket subscription keeps on its server', () => {
  it('neither its connection’s upgrade request nor the scope checks cached while it subscribed', async () => {
    const before = { requests: live(IncomingMessage), caches: live(RequestCache) };
    const clients = Array.from({ length: SUBSCRIBERS }, () => registry.clients.create(registry.node.url));
    const streams = clients.map((client) => client.subscribe(OnConfigChangedDocument, { key: 'retention.key' }));
    await untilOpenSubscriptions(registry.node, SUBSCRIBERS);
    // An event executed for every subscriber: its own scope checks come and go with it.
    await registry.client.request(SetConfigDocument, { key: 'retention.key', value: 1 });
    for (const stream of streams) expect(await take(stream, 1)).toHaveLength(1);

    // A few may be in flight elsewhere (this test's own requests); one per subscriber is what is kept.
    expect(live(IncomingMessage) - before.requests).toBeLessThan(SUBSCRIBERS / 2);
    expect(live(RequestCache) - before.caches).toBeLessThan(SUBSCRIBERS / 2);
    for (const stream of streams) await stream.return!();
    await untilOpenSubscriptions(registry.node, 0);
  });
});
