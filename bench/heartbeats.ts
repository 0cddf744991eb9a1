import { sql } from 'drizzle-orm';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { connectDatabase } from '../src/db/client.js';
import type { Etcd } from './etcd.js';
import type { HeartbeatLoad } from './load/heartbeats.js';
import { percentile, runLoadProcess, setConfig, startServer } from './support.js';

export const HEARTBEAT_INSTANCES = 100_000;
export const HEARTBEAT_SERVICES = 10_000;
export const HEARTBEAT_CLIENTS = 64;
export const HEARTBEAT_TTL_SECONDS = 30;
/** Granting 100,000 etcd leases one by one takes minutes; keep-alive cost does not depend on how many there are. */
export const ETCD_LEASES = 10_000;

const PROBE_KEY = 'bench.heartbeats.probe';
const PROBE_EVERY_MS = 100;

export interface HeartbeatResults {
  ours: HeartbeatLoad;
  etcd: HeartbeatLoad | undefined;
  /** Instances removed for a lapsed lease during the run (`service.unregistered`, reason ttl-expired). */
  lapsed: number;
  /** Seeded instances no longer in the table after the run. */
  missing: number;
  /** Events appended during the run, the probe's own and the lapses' (counted in `lapsed`) left out. */
  events: number;
  /** setConfig sent to server A → configChanged received from server B, every 100 ms during the run. */
  feedLag: { samples: number; lost: number; p50Ms: number; p99Ms: number; maxMs: number };
}

/**
 * 100,000 TTL instances (30 s) in 10,000 services, seeded straight into the table; two
 * servers; 64 closed-loop clients in another process, split across both, renewing
 * round-robin over every instance. Every lease is restarted as the load starts (as if every
 * instance had just registered), so keeping them all alive takes 100,000 ÷ 30 s ≈ 3,333
 * renewals/s from the first second on. Meanwhile a probe changes a configuration value on
 * server A every 100 ms and a graphql-ws subscriber on server B times each arrival: the feed
 * must not lag behind the heartbeats. etcd: keep-alives (`keepaliveOnce`) at the same
 * concurrency, round-robin over ETCD_LEASES leases, each holding one key.
 */
export async function runHeartbeatBench(options: {
  databaseUrl: string;
  etcd: Etcd | undefined;
  seconds: number;
  etcdSeconds: number;
}): Promise<HeartbeatResults> {
  const database = connectDatabase(options.databaseUrl, { poolSize: 2 });
  try {
    await seedInstances(options.databaseUrl);
    const env = { DATABASE_URL: options.databaseUrl, SWITCHBOARD_HEALTH_WORKER: 'false' };
    const [a, b] = await Promise.all([startServer(env), startServer(env)]);
    let ours: HeartbeatLoad;
    let feedLag: HeartbeatResults['feedLag'];
    let before: number;
    let ended: { at: string; lastEventId: number };
    try {
      const load = (seconds: number, startAt = 0) =>
        runLoadProcess<HeartbeatLoad>('heartbeats.ts', {
          mode: 'switchboard',
          urls: [a.url, b.url],
          concurrency: HEARTBEAT_CLIENTS,
          seconds,
          instances: HEARTBEAT_INSTANCES,
          startAt,
        });
      await load(2); // warm-up
      const probe = await startProbe(a.url, b.url);
      try {
        before = Number((await database.db.execute<{ id: string }>(sql`select coalesce(max(id), 0) as id from events`))[0]!.id);
        // Every lease starts as the load does: each must be renewed within 30 s, and every 30 s after.
        const startAt = Date.now() + 5_000;
        const running = load(options.seconds, startAt);
        await sleep(startAt - 1_500 - Date.now());
        // In id order, as heartbeats lock rows: should it overrun into the load, neither deadlocks the other.
        await database.db.execute(sql`
          update services s set expires_at = now() + s.ttl_ms * interval '1 millisecond'
          from (select id from services where id like 'hb-%' order by id for update) l where s.id = l.id`);
        await sleep(startAt - Date.now());
        probe.start();
        ours = await running;
        const [end] = await database.db.execute<{ at: string; id: string }>(sql`select now()::text as at, coalesce(max(id), 0) as id from events`);
        ended = { at: end!.at, lastEventId: Number(end!.id) };
      } finally {
        feedLag = await probe.stop();
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    // Lapsed: removed by a sweep during the run, or lapsed and not swept yet when it ended.
    const [counts] = await database.db.execute<{ swept: string; unswept: string; events: string; remaining: string }>(sql`
      select
        (select count(*) from events where id > ${before}::int8 and type = 'service.unregistered'
           and data ->> 'reason' = 'ttl-expired' and data ->> 'id' like 'hb-%') as swept,
        (select count(*) from services where id like 'hb-%' and expires_at < ${ended.at}::timestamptz) as unswept,
        (select count(*) from events where id > ${before}::int8 and id <= ${ended.lastEventId}::int8
           and not (type = 'config.changed' and data ->> 'key' = ${PROBE_KEY}::text)
           and not (type = 'service.unregistered' and data ->> 'reason' = 'ttl-expired')) as events,
        (select count(*) from services where id like 'hb-%') as remaining`);
    const etcd = options.etcd && (await etcdKeepAlives(options.etcd.endpoint, options.etcdSeconds));
    return {
      ours,
      etcd,
      lapsed: Number(counts!.swept) + Number(counts!.unswept),
      missing: HEARTBEAT_INSTANCES - Number(counts!.remaining),
      events: Number(counts!.events),
      feedLag,
    };
  } finally {
    await database.close();
  }
}

/** 10,000 services × 10 instances with a 30 s TTL, in one statement; ids as the load generator names them. */
async function seedInstances(databaseUrl: string): Promise<void> {
  const seed = connectDatabase(databaseUrl, { poolSize: 1 });
  const perService = HEARTBEAT_INSTANCES / HEARTBEAT_SERVICES;
  try {
    await seed.db.execute(sql`
      insert into services (id, name, version, address, port, tags, ttl_ms, last_heartbeat_at, expires_at)
      select 'hb-' || (g / ${perService}::int) || '-' || (g % ${perService}::int), 'hb-svc-' || (g / ${perService}::int), '1.0.0',
             '10.' || (g / 65536) || '.' || (g / 256 % 256) || '.' || (g % 256), 8080, '{bench}', ${HEARTBEAT_TTL_SECONDS * 1000}::int,
             now(), now() + interval '1 hour'
      from generate_series(0, ${HEARTBEAT_INSTANCES - 1}::int) as g`);
    await seed.db.execute(sql`analyze services`);
  } finally {
    await seed.close();
  }
}

/** A change on server A every PROBE_EVERY_MS once started, each timed from its request until server B's subscriber has it. */
async function startProbe(writerUrl: string, watcherUrl: string) {
  const sentAt = new Map<number, number>();
  const lags: number[] = [];
  const client = createClient({ url: watcherUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
  let live: (() => void) | undefined;
  const subscribed = new Promise<void>((resolve) => (live = resolve));
  const unsubscribe = client.subscribe<{ configChanged: { newValue: { index: number } } }>(
    { query: 'subscription ($key: String!) { configChanged(key: $key) { newValue } }', variables: { key: PROBE_KEY } },
    {
      next: (message) => {
        const index = message.data!.configChanged.newValue.index;
        if (index < 0) return live?.();
        const sent = sentAt.get(index);
        if (sent !== undefined) lags.push(performance.now() - sent);
        sentAt.delete(index);
      },
      error: (error) => console.error('heartbeats probe subscription failed:', error),
      complete: () => {},
    },
  );
  // The subscription is live once a first change reaches it (not counted).
  for (let attempt = 0; ; attempt++) {
    await setConfig(writerUrl, PROBE_KEY, { index: -1 - attempt });
    const arrived = await Promise.race([subscribed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 500))]);
    if (arrived) break;
  }
  let timer: NodeJS.Timeout | undefined;
  let index = 0;
  const writes: Promise<unknown>[] = [];
  return {
    start() {
      timer = setInterval(() => {
        const current = index++;
        sentAt.set(current, performance.now());
        writes.push(setConfig(writerUrl, PROBE_KEY, { index: current }).catch((error: unknown) => console.error('heartbeats probe write failed:', error)));
      }, PROBE_EVERY_MS);
    },
    async stop(): Promise<HeartbeatResults['feedLag']> {
      clearInterval(timer);
      await Promise.all(writes);
      // The last changes' arrivals: at most a second more.
      for (let waited = 0; sentAt.size > 0 && waited < 1_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
      unsubscribe();
      await client.dispose();
      return { samples: lags.length, lost: sentAt.size, p50Ms: percentile(lags, 50), p99Ms: percentile(lags, 99), maxMs: Math.max(...lags) };
    },
  };
}

/** etcd lease keep-alives at the same concurrency, round-robin over ETCD_LEASES leases (30 s TTL, one key each). */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function etcdKeepAlives(endpoint: string, seconds: number): Promise<HeartbeatLoad> {
  const params = { mode: 'etcd', endpoint, concurrency: HEARTBEAT_CLIENTS, leases: ETCD_LEASES, ttlSeconds: HEARTBEAT_TTL_SECONDS };
  await runLoadProcess<HeartbeatLoad>('heartbeats.ts', { ...params, leases: 1_000, seconds: 2, prefix: '/heartbeats/warm/' }); // warm-up
  return runLoadProcess<HeartbeatLoad>('heartbeats.ts', { ...params, seconds, prefix: '/heartbeats/leases/' });
}
