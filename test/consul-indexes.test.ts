import Consul from 'consul';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ConfigDocument, LatestEventIdDocument } from '@switchboard/client';
import { withTimeout } from './support/wait.js';
import { feedWaiters, feedWaitersReach } from './support/feed-waiters.js';
import { startTestNode, useRegistryNode } from './support/nodes.js';

/**
 * Consul clients block on X-Consul-Index or on a key's ModifyIndex, so both must
 * be on one scale. With ModifyIndex the key's version (1, 2, …) beside an event-log index, a watch
 * that blocked on ModifyIndex came back at once, every time.
 */
const ADMIN = 'consul-indexes-admin-token-0123456789';
const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: ADMIN });
const admin = () => registry.clients.create(registry.node.url, ADMIN);

interface Pair {
  Key: string;
  CreateIndex: number;
  ModifyIndex: number;
}

async function kv(method: string, path: string, body?: string, url = registry.node.url) {
  const response = await fetch(`${new URL(url).origin}/v1/kv/${path}`, { method, body, headers: { 'x-consul-token': ADMIN } });
  return { status: response.status, index: Number(response.headers.get('x-consul-index')), text: await response.text() };
}

async function pairOf(key: string, url?: string): Promise<{ pair: Pair; index: number }> {
  const answer = await kv('GET', key, undefined, url);
  expect(answer.status).toBe(200);
  return { pair: (JSON.parse(answer.text) as Pair[])[0]!, index: answer.index };
}

const latestEventId = async () => Number((await admin().request(LatestEventIdDocument)).latestEventId);

/** A client blocking query through the npm consul client, answered as [response, pair]; resolves with when it answered. */
function blockingGet(client: Consul, key: string, index: number, wait: string) {
  const ctx = Object.assign(new EventEmitter(), { includeResponse: true });
  const get = client.kv.get.bind(client.kv) as (options: Record<string, unknown>) => Promise<unknown>;
  const started = performance.now();
  return (get({ key, index, wait, ctx }) as Promise<[{ headers: Record<string, string> }, { Value: string; ModifyIndex: number }]>).then(
    ([response, pair]) => ({ index: Number(response.headers['x-consul-index']), pair, elapsed: performance.now() - started }),
  );
}

describe('KV indexes are on the X-Consul-Index scale', () => {
  it("gives a key's CreateIndex and ModifyIndex from the events that wrote it, and its X-Consul-Index is its ModifyIndex", async () => {
    // Other writes first, so that versions and event ids differ.
    for (const key of ['idx/other-a', 'idx/other-b', 'idx/other-c']) expect((await kv('PUT', key, 'x')).text).toBe('true');

    expect((await kv('PUT', 'idx/key', 'v1')).text).toBe('true');
    const created = await latestEventId();
    const first = await pairOf('idx/key');
    expect(first.pair).toMatchObject({ CreateIndex: created + 1, ModifyIndex: created + 1 });
    expect(first.index).toBe(first.pair.ModifyIndex);

    await kv('PUT', 'idx/unrelated', 'x');
    expect((await kv('PUT', 'idx/key', 'v2')).text).toBe('true');
    const modified = await latestEventId();
    const second = await pairOf('idx/key');
    expect(second.pair).toMatchObject({ CreateIndex: created + 1, ModifyIndex: modified + 1 });
    expect(second.index).toBe(second.pair.ModifyIndex);
    // A write to another key moves neither its ModifyIndex nor its X-Consul-Index.
    await kv('PUT', 'idx/unrelated', 'y');
    expect(await pairOf('idx/key')).toEqual(second);
    // GraphQL's version stays the key's own count.
    expect((await admin().request(ConfigDocument, { key: 'idx.key' })).config).toMatchObject({ value: 'v2', version: 2 });
    // ?raw answers the same index.
    expect(await kv('GET', 'idx/key?raw')).toMatchObject({ status: 200, text: 'v2', index: second.pair.ModifyIndex });
  });

  it('blocks a query on one key at its ModifyIndex until that key changes', async () => {
    const client = new Consul({ host: '127.0.0.1', port: registry.node.port!, defaults: { token: ADMIN } });
    try {
      await client.kv.set('idx/watched', 'v1');
      const { pair } = await pairOf('idx/watched');

      // Nothing changes: it waits out its wait, and answers the same index.
      const idle = await withTimeout(blockingGet(client, 'idx/watched', pair.ModifyIndex, '500ms'), 5_000, 'the idle blocking query did not answer');
      expect(idle.index).toBe(pair.ModifyIndex);
      expect(idle.elapsed).toBeGreaterThanOrEqual(490);

      // A write to another key does not wake it; one to the key does, with the key's new ModifyIndex.
      const waiting = feedWaiters(registry.node);
      const blocked = blockingGet(client, 'idx/watched', pair.ModifyIndex, '30s');
      await feedWaitersReach(registry.node, waiting + 1); // parked on the server
      await client.kv.set('idx/not-watched', 'x');
      await feedWaitersReach(registry.node, waiting + 1); // woken by that write's event, and parked again
      await client.kv.set('idx/watched', 'v2');
      const woken = await withTimeout(blocked, 5_000, 'the blocking query did not answer after the write');
      expect(woken.pair.Value).toBe('v2');
      expect(woken.index).toBe(woken.pair.ModifyIndex);
      expect(woken.pair.ModifyIndex).toBeGreaterThan(pair.ModifyIndex);
    } finally {
      client.destroy();
    }
  });

  it('blocks at a ModifyIndex written before the server started', async () => {
    expect((await kv('PUT', 'idx/before-start', 'v1')).text).toBe('true');
    const { pair } = await pairOf('idx/before-start');
    await kv('PUT', 'idx/after-it', 'x'); // the log moves on past the key's last change
    // A second server on the same database: its memory starts at the log's head, past the key's change.
    const late = await startTestNode(registry.database.url, { SWITCHBOARD_ADMIN_TOKEN: ADMIN });
    try {
      const started = performance.now();
      const idle = await kv('GET', `idx/before-start?index=${pair.ModifyIndex}&wait=500ms`, undefined, late.url);
      expect(performance.now() - started).toBeGreaterThanOrEqual(490);
      expect(idle).toMatchObject({ status: 200, index: pair.ModifyIndex });
      expect((await pairOf('idx/before-start', late.url)).pair).toEqual(pair);
    } finally {
      await late.stop();
    }
  });
});
