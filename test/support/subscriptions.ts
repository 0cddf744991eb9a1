import type { ExecutionCounters } from '../../src/graphql/context.js';
import { eventually } from './wait.js';

/**
 * Resolves once an in-process node holds exactly `count` open subscriptions (WebSocket and SSE).
 * A subscription is counted once the server has subscribed it, its cursor set: from then on it
 * receives every event published. Wait for 0 first when earlier subscriptions may still be closing.
 */
export async function untilOpenSubscriptions(node: { counters: ExecutionCounters | undefined }, count: number, timeoutMs = 10_000): Promise<void> {
  const counters = node.counters;
  if (!counters) throw new Error('not a serving node: it counts no subscriptions');
  await eventually(() => (counters.openSubscriptions === count ? true : undefined), timeoutMs).catch(() => {
    throw new Error(`expected ${count} open subscriptions, the node holds ${counters.openSubscriptions}`);
  });
}
