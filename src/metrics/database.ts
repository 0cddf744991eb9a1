import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../db/client.js';
import { poolConnections } from '../db/pool-stats.js';
import type { ScrapeReads } from './scrape.js';

/** The connection pool, read at scrape time: its size, and its connections in use and idle as PostgreSQL sees them. */
export function observeDatabasePool(registry: Registry, db: Db, poolSize: number, reads: ScrapeReads): void {
  const registers = [registry];
  const read = reads.add(() => poolConnections(db));
  new Gauge({ name: 'switchboard_db_pool_max_connections', help: 'Connections the pool may open (SWITCHBOARD_DB_POOL_SIZE).', registers }).set(poolSize);
  new Gauge({
    name: 'switchboard_database_up',
    help: "1 if the database answered this scrape's reads within 2 s, else 0 (the gauges it feeds then keep their last values).",
    registers,
    async collect() {
      this.set((await reads.up()) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'switchboard_db_connections',
    help: "This process's database connections by state (in_use: running a statement or in a transaction; idle), as pg_stat_activity shows them, the event feed's LISTEN connection included.",
    labelNames: ['state'],
    registers,
    async collect() {
      const connections = await read();
      if (!connections) return;
      this.set({ state: 'in_use' }, connections.inUse);
      this.set({ state: 'idle' }, connections.idle);
    },
  });
}
