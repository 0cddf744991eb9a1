import { sql } from 'drizzle-orm';
import { connectDatabase } from '../src/db/client.js';
import { benchDatabase, loadTest, startServer, type LoadResult } from './support.js';

export interface SelectionRow {
  name: string;
  result: LoadResult;
}

const INSTANCES = 50;

/**
 * selectInstance and reportCallOutcome through GraphQL on one server process, with
 * autocannon in another, over loopback.
 */
export async function runSelectionBench(seconds: number, connections: number): Promise<SelectionRow[]> {
  const database = await benchDatabase();
  const seed = connectDatabase(database.url, { poolSize: 2 });
  await seed.db.execute(sql`
    insert into services (id, name, version, address, port, weight, priority)
    select 'bench-' || i, 'bench', '1.0.0', '10.0.' || (i / 250) || '.' || (i % 250), 8080, 1 + i % 5, 0
    from generate_series(0, ${INSTANCES - 1}::int) i`);
  await seed.close();
  const server = await startServer({ DATABASE_URL: database.url, SWITCHBOARD_HEALTH_WORKER: 'false', SWITCHBOARD_BREAKER_MIN_CALLS: '1000000' });
  const rows: SelectionRow[] = [];
  try {
    const select = (strategy: string, extra = '') =>
      JSON.stringify({ query: `{ selectInstance(service: "bench", strategy: ${strategy}${extra}) { id address port } }` });
    const scenarios: [string, string][] = [
      ['selectInstance ROUND_ROBIN', select('ROUND_ROBIN')],
      ['selectInstance WEIGHTED', select('WEIGHTED')],
      ['selectInstance CONSISTENT_HASH', select('CONSISTENT_HASH', ', hashKey: "user-42"')],
      ['reportCallOutcome (batched)', JSON.stringify({ query: 'mutation { reportCallOutcome(id: "bench-7", success: true, latency: "12ms") { id } }' })],
    ];
    for (const [name, body] of scenarios) {
      await loadTest({ url: server.url, body, connections, seconds: 2 }); // warm-up
      rows.push({ name, result: await loadTest({ url: server.url, body, connections, seconds }) });
    }
  } finally {
    await server.stop();
    await database.drop();
  }
  return rows;
}
