import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * A fresh registry for one node, with the process defaults (CPU, memory, event-loop
 * lag, GC, open handles). One per node, never prom-client's global one: several nodes
 * may run in one process (tests do), and each must report only its own work.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The histogram buckets for durations measured here, in seconds (1 ms to 30 s). */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The histogram buckets for batch sizes (one item up to the largest batches taken). */
export const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000];
