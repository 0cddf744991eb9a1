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
