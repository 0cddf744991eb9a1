import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { withTimeout } from './support/wait.js';
import { useRegistryNode } from './support/nodes.js';
import { feedWaiters, feedWaitersReach } from './support/feed-waiters.js';

/**
 * A blocking query's wait bounded by `AbortSignal.any([gone, AbortSignal.timeout(ms)])`
 * stopped ending on Node 20 once a garbage collection ran, since the timeout signal is held only
 * weakly. The node runs in this process, so a collection forced here collects its signals too.
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const ADMIN = 'consul-held-wait-admin-token-0123456789';
const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: ADMIN });
const origin = () => new URL(registry.node.url).origin;
const get = (path: string) => fetch(`${origin()}${path}`, { headers: { 'x-consul-token': ADMIN } });

describe('a blocking query ends when its wait does', () => {
  it('answers within wait (plus jitter) while garbage collections run', async () => {
    const put = await fetch(`${origin()}/v1/kv/heldwait/key`, { method: 'PUT', body: 'v1', headers: { 'x-consul-token': ADMIN } });
    expect(await put.text()).toBe('true');
    const first = await get('/v1/kv/heldwait/key');
    const index = first.headers.get('x-consul-index')!;

    const waitMs = 500; // time passing is the subject: the wait must end, collections or not
    const waiting = feedWaiters(registry.node);
    const started = performance.now();
    const blocked = get(`/v1/kv/heldwait/key?index=${index}&wait=${waitMs}ms`);
    // Collections while the query waits (each pauses this process, the node's, ~0.1 s; far longer on a
    // loaded machine, so their pauses are counted): whatever holds its end only weakly goes.
    let paused = 0;
    const collect = () => {
      const start = performance.now();
      gc();
      paused += performance.now() - start;
    };
    const collector = setInterval(collect, 200);
    try {
      await feedWaitersReach(registry.node, waiting + 1, 5_000); // parked: its wait has begun
      collect(); // at least one collection while it waits, however late the interval's first
      const answer = await withTimeout(blocked, 6_000, 'the blocking query outlived its wait: its timer was collected');
      const elapsed = performance.now() - started;
      expect(answer.status).toBe(200);
      // Nothing changed, so it waited: the whole wait, and not much more than its jitter (wait/16).
      expect(answer.headers.get('x-consul-index')).toBe(index);
      expect(elapsed).toBeGreaterThanOrEqual(waitMs - 5);
      expect(elapsed - paused).toBeLessThan(waitMs + waitMs / 16 + 1_000); // the collections' own pauses aside
    } finally {
      clearInterval(collector);
    }
  });
});
