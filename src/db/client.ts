import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { trackTransactionStatements } from './cancellation.js';
import * as schema from './schema/index.js';

export type Db = PostgresJsDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Anything a query can run on: the pool or an open transaction. */
export type Executor = Db | Tx;

export interface Database {
  db: Db;
  /** The raw postgres.js pool, for LISTEN and the few statements Drizzle cannot express. */
  sql: postgres.Sql;
  close(timeoutSeconds?: number): Promise<void>;
}

export interface ConnectOptions {
  poolSize?: number;
  applicationName?: string;
  /** Default 3 s. */
  connectTimeoutMs?: number;
  /** Called with every statement sent (tests count queries with it). */
  onQuery?: (query: string) => void;
}

export function connectDatabase(url: string, options: ConnectOptions = {}): Database {
  const sql = postgres(url, {
    max: options.poolSize ?? 10,
    idle_timeout: 60,
    connect_timeout: (options.connectTimeoutMs ?? 3_000) / 1000,
    backoff: reconnectDelaySeconds,
    // Notices ("relation already exists, skipping") are not errors; keep them out of the logs.
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'switchboard' },
    ...(options.onQuery ? { debug: (_connection: number, query: string) => options.onQuery!(query) } : {}),
  });
  // Drizzle's transactions report their statements, so a request's deadline can cancel them (cancellation.ts).
  const db = drizzle({ client: trackTransactionStatements(sql), schema });
  return {
    db,
    sql,
    close: (timeoutSeconds = 5) => sql.end({ timeout: timeoutSeconds }),
  };
}

/**
 * Delay before a connection that failed reconnects, in seconds, by consecutive failures across
 * the pool (and its LISTEN connection). The driver's default grows to 20 s after a few failures:
 * a 10 s outage left queries queued for up to 20 s after PostgreSQL was back, and the feed's
 * LISTEN connection as long. A few reconnects a second per connection cost the server nothing.
 */
export function reconnectDelaySeconds(failures: number): number {
  return Math.min(0.05 * 2 ** failures, 0.5) * (0.5 + Math.random() / 2);
}

/** The same server, another database. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
