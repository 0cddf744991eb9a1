import type { SwitchboardNode } from '../../src/server/node.js';
import { eventually } from './wait.js';

/**
 * What waits on an in-process node's event feed for its next event: each blocking Consul query
 * parked in waitForIndex (src/consul/blocking.ts), each subscription between events. The feed
 * wakes every waiter on each event it applies, and a query whose index did not move registers
 * again at once, so this count is how a test knows that a blocking query has reached the server
 * and is parked, and that an event which should not answer it left it parked.
 *
 * The feed is not part of the node's interface: it is reached through the catalog, which holds it.
 * Should either field be renamed, this throws rather than pass on a count of nothing.
 */
export function feedWaiters(node: SwitchboardNode): number {
  const feed = (node.catalog as unknown as { feed?: { waiters?: unknown } } | undefined)?.feed;
  const waiters = feed?.waiters;
  if (!(waiters instanceof Set)) {
    throw new Error("feedWaiters: the node's catalog no longer holds its event feed as `feed` with a `waiters` set; update test/support/feed-waiters.ts");
  }
  return waiters.size;
}

/** Resolves once at least `count` callbacks wait on the node's event feed (see feedWaiters). */
export async function feedWaitersReach(node: SwitchboardNode, count: number, timeoutMs = 10_000): Promise<void> {
  try {
    await eventually(() => (feedWaiters(node) >= count ? true : undefined), timeoutMs, 10);
  } catch {
    throw new Error(`${feedWaiters(node)} callbacks wait on the event feed, not ${count}, after ${timeoutMs}ms`);
  }
}
