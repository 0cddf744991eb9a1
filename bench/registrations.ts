import type { Etcd } from './etcd.js';
import type { LoopResult } from './load/loops.js';
import { runLoadProcess, startServer } from './support.js';

/**
 * Measures 2 (registrations/s): registerService mutations with fresh ids (each a
 * transaction with its event and NOTIFY), from `concurrency` closed loops in a
 * separate process; vs etcd puts with a lease at the same concurrency.
 */
export async function runRegistrations(options: {
  databaseUrl: string;
  etcd: Etcd | undefined;
  concurrency: number;
  seconds: number;
}): Promise<{ ours: LoopResult; etcd: LoopResult | undefined }> {
  const server = await startServer({ DATABASE_URL: options.databaseUrl, SWITCHBOARD_HEALTH_WORKER: 'false' });
  let ours: LoopResult;
  try {
    const params = { url: server.url, concurrency: options.concurrency };
    await runLoadProcess<LoopResult>('registrations.ts', { ...params, seconds: 2, prefix: `warm${options.concurrency}` });
    ours = await runLoadProcess<LoopResult>('registrations.ts', { ...params, seconds: options.seconds, prefix: `reg${options.concurrency}` });
  } finally {
    await server.stop();
  }
  let etcd: LoopResult | undefined;
  if (options.etcd) {
    const params = { endpoint: options.etcd.endpoint, mode: 'put', concurrency: options.concurrency };
    await runLoadProcess<LoopResult>('etcd-ops.ts', { ...params, seconds: 2, prefix: `/registrations/warm${options.concurrency}/` });
    etcd = await runLoadProcess<LoopResult>('etcd-ops.ts', { ...params, seconds: options.seconds, prefix: `/registrations/c${options.concurrency}/` });
  }
  return { ours, etcd };
}

/** Instances per registerServices call in the bulk measurement. */
export const BULK_BATCH = 50;
/** Clients calling registerServices at once. */
export const BULK_CONCURRENCY = 8;

/**
 * Bulk registrations: registerServices calls of BULK_BATCH fresh ids each (one transaction, one
 * append of their BULK_BATCH events, one NOTIFY), from BULK_CONCURRENCY closed loops in a separate
 * process. Reported in instances/s; the latencies are a whole call's.
 */
export async function runBulkRegistrations(options: { databaseUrl: string; seconds: number }): Promise<LoopResult & { instancesPerSecond: number }> {
  const server = await startServer({ DATABASE_URL: options.databaseUrl, SWITCHBOARD_HEALTH_WORKER: 'false' });
  try {
    const params = { url: server.url, concurrency: BULK_CONCURRENCY, batch: BULK_BATCH };
    await runLoadProcess<LoopResult>('registrations.ts', { ...params, seconds: 2, prefix: 'warm-bulk' });
    const result = await runLoadProcess<LoopResult>('registrations.ts', { ...params, seconds: options.seconds, prefix: 'bulk' });
    return { ...result, instancesPerSecond: result.perSecond * BULK_BATCH };
  } finally {
    await server.stop();
  }
}
