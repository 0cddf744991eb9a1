import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointSlice, pod, useStandIn } from '../packages/kubernetes/test/support/cluster.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startTestNode, useRegistryNode, type TestNode } from './support/nodes.js';
import { eventually } from './support/wait.js';

/**
 * The other two types of source, each loaded from its package and followed by a server: Consul (here
 * another Switchboard's Consul-compatible API, which the Consul backend speaks to as to an agent) and
 * Kubernetes (the Kubernetes package's API server stand-in, which kubectl and client-node are tested
 * against). The full behaviour of a source is tested over etcd (sources.test.ts); this is the wiring.
 */
const cluster = useStandIn();
const env: Record<string, string> = { SWITCHBOARD_SOURCE_LEADER_TTL: '1s' };
let upstreamDatabase: TestDatabase;
let upstream: TestNode;

// Before the follower starts (its hook runs after this one): it is told where its sources are.
beforeAll(async () => {
  upstreamDatabase = await createTestDatabase();
  upstream = await startTestNode(upstreamDatabase.url);
  env['SWITCHBOARD_SOURCES'] = JSON.stringify([
    { name: 'dc-other', type: 'consul', address: `127.0.0.1:${upstream.port}` },
    { name: 'k8s', type: 'kubernetes', kubeconfig: cluster.kubeconfig, namespace: 'shop' },
  ]);
});
const registry = useRegistryNode(env);

afterAll(async () => {
  await upstream?.stop();
  await upstreamDatabase?.drop();
});

const doc = <R>(source: string) => parse(source) as TypedDocumentNode<R, Record<string, unknown>>;
const DISCOVER = doc<{ discoverServices: { id: string; address: string; port: number | null; source: string | null }[] }>(
  `query($name: String!) { discoverServices(name: $name) { id address port source } }`,
);

async function discovered(name: string, count: number) {
  return eventually(async () => {
    const { discoverServices } = await registry.client.request(DISCOVER, { name });
    return discoverServices.length === count ? discoverServices : undefined;
  }, 20_000);
}

describe('sources of each type', () => {
  it('follows a Consul agent', async () => {
    const writer = registry.clients.create(upstream.url);
    await writer.request(doc(`mutation { registerService(input: { id: "ledger-1", name: "ledger", address: "10.5.0.1", port: 7000 }) { id } }`), {});
    expect(await discovered('ledger', 1)).toEqual([{ id: 'ledger-1', address: '10.5.0.1', port: 7000, source: 'dc-other' }]);
    await writer.request(doc(`mutation { unregisterService(id: "ledger-1") }`), {});
    expect(await discovered('ledger', 0)).toEqual([]);
  });

  it('follows a Kubernetes namespace', async () => {
    cluster.standIn.apply('pods', pod('web-1', { namespace: 'shop', ip: '10.6.0.1' }));
    cluster.standIn.apply('endpointslices', endpointSlice('web-x1', { namespace: 'shop', service: 'web', endpoints: [{ address: '10.6.0.1', pod: 'web-1' }] }));
    expect(await discovered('web', 1)).toEqual([{ id: 'web-1.web.shop', address: '10.6.0.1', port: 8080, source: 'k8s' }]);
    cluster.standIn.remove('endpointslices', 'shop', 'web-x1');
    expect(await discovered('web', 0)).toEqual([]);
  });
});
