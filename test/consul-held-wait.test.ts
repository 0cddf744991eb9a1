import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { withTimeout } from './support/wait.js';
import { useRegistryNode } from './support/nodes.js';

/**
 * STYLE.md trap 10: a blocking query's wait bounded by `AbortSignal.any([gone, AbortSignal.timeout(ms)])`
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

    const waitMs = 1_000;
    const started = performance.now();
    const blocked = get(`/v1/kv/heldwait/key?index=${index}&wait=${waitMs}ms`);
    // Collections while the query waits (each pauses this process, the node's, ~0.1 s): whatever holds its end only weakly goes.
    const collector = setInterval(gc, 200);
    try {
      const answer = await withTimeout(blocked, 6_000, 'the blocking query outlived its wait: its timer was collected');
      const elapsed = performance.now() - started;
      expect(answer.status).toBe(200);
      // Nothing changed, so it waited: the whole wait, and not much more than its jitter (wait/16).
      expect(answer.headers.get('x-consul-index')).toBe(index);
      expect(elapsed).toBeGreaterThanOrEqual(waitMs - 5);
      expect(elapsed).toBeLessThan(waitMs + waitMs / 16 + 1_000);
    } finally {
      clearInterval(collector);
    }
  });
});
