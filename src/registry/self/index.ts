import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import type { Catalog } from '../catalog/index.js';
import type { ServiceInstance } from '../instances/model.js';

/** The service names the registry's own processes register under (see src/server/self-registration.ts). */
export const SELF_SERVICE = { serve: 'switchboard', worker: 'switchboard-worker' } as const;

export interface DatabaseHealth {
  reachable: boolean;
  /** One round trip, in ms; null when unreachable. */
  latencyMs: number | null;
  /** PostgreSQL's server_version; null when unreachable. */
  version: string | null;
}

export interface RegistryHealth {
  servers: readonly ServiceInstance[];
  workers: readonly ServiceInstance[];
  database: DatabaseHealth;
}

/** How long the database may take to answer before it counts as unreachable here. */
const DATABASE_TIMEOUT_MS = 2_000;

/**
 * The registry's own health: its servers and workers as they registered themselves
 * (from this server's catalog), and whether the database answers, how fast, and its version.
 */
export async function registryHealth(db: Executor, catalog: Catalog): Promise<RegistryHealth> {
  const servers = catalog.byService(SELF_SERVICE.serve).map((entry) => entry.instance);
  const workers = catalog.byService(SELF_SERVICE.worker).map((entry) => entry.instance);
  return { servers, workers, database: await databaseHealth(db) };
}

export async function databaseHealth(db: Executor): Promise<DatabaseHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const query = db.execute<{ version: string }>(sql`select current_setting('server_version') as version`);
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), DATABASE_TIMEOUT_MS)));
    query.catch(() => {}); // a late failure after the timeout is not unhandled
    const [row] = await Promise.race([query, timeout]);
    return { reachable: true, latencyMs: Math.round((performance.now() - started) * 100) / 100, version: row?.version ?? null };
  } catch {
    return { reachable: false, latencyMs: null, version: null };
  } finally {
    clearTimeout(timer);
  }
}
