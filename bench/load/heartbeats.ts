import { Etcd3, type Lease } from 'etcd3';
import { main, runLoops, type LoopResult } from './loops.js';

/** A heartbeat run's figures: the loops', and its failures by error code. */
export type HeartbeatLoad = LoopResult & { errorCodes: Record<string, number> };

type Params =
  | { mode: 'switchboard'; urls: string[]; concurrency: number; seconds: number; instances: number; startAt: number }
  | { mode: 'etcd'; endpoint: string; concurrency: number; seconds: number; leases: number; ttlSeconds: number; prefix: string };

/**
 * Closed-loop renewals, round-robin over every lease: `heartbeat(id)` mutations through GraphQL over
 * HTTP (keep-alive), loop i on urls[i % urls.length]; or etcd lease keep-alives through the etcd3
 * client (`keepaliveOnce`), after granting the leases and putting a key under each.
 */
await main(async (params: Params): Promise<HeartbeatLoad> => {
  const errorCodes: Record<string, number> = {};
  const failed = (code: string) => {
    errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    throw new Error(code);
  };
  let next = 0;

  if (params.mode === 'switchboard') {
    const query = 'mutation ($id: ID!) { heartbeat(id: $id) { id } }';
    // At the time the bench set (epoch ms), when the leases start: not when this process happened to be up.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, params.startAt - Date.now())));
    const result = await runLoops(params.concurrency, params.seconds, async (loop) => {
      const k = next++ % params.instances;
      const response = await fetch(params.urls[loop % params.urls.length]!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables: { id: heartbeatInstanceId(k) } }),
      });
      const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
      if (body.errors) failed(body.errors[0]?.extensions?.code ?? `HTTP ${response.status}`);
    });
    return { ...result, errorCodes };
  }

  const client = new Etcd3({ hosts: params.endpoint });
  try {
    const leases: Lease[] = [];
    const value = JSON.stringify({ name: 'bench', address: '10.1.0.1', port: 8080 });
    for (let start = 0; start < params.leases; start += 500) {
      const chunk = Array.from({ length: Math.min(500, params.leases - start) }, () => client.lease(params.ttlSeconds, { autoKeepAlive: false }));
      await Promise.all(chunk.map((lease, j) => lease.put(`${params.prefix}${start + j}`).value(value)));
      leases.push(...chunk);
    }
    const result = await runLoops(params.concurrency, params.seconds, async () => {
      await leases[next++ % leases.length]!.keepaliveOnce().catch((error: unknown) => failed((error as Error).name));
    });
    return { ...result, errorCodes };
  } finally {
    client.close();
  }
});

/** The seeded instance at round-robin position k: 10 instances per service (bench/heartbeats.ts seeds them). */
function heartbeatInstanceId(k: number): string {
  return `hb-${Math.floor(k / 10)}-${k % 10}`;
}
