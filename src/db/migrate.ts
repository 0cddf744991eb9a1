import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { AdvisoryLock } from './locks.js';

/** `drizzle/` at the package root, from both `src/db` (tsx) and `dist/db` (built). */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/**
 * Applies pending migrations. Several nodes may start at once against one database,
 * so the migrator runs under a session advisory lock on its own single connection.
 */
export async function runMigrations(databaseUrl: string): Promise<void> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await sql`select pg_advisory_lock(${AdvisoryLock.MIGRATIONS.toString()}::int8)`;
    await migrate(drizzle({ client: sql }), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    // Ending the session releases the advisory lock too.
    await sql.end({ timeout: 5 });
  }
}
