import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { connectDatabase, databaseUrl, type Database } from '../../src/db/client.js';
import { tracked } from './leaks.js';

export interface TestDatabase extends Database {
  url: string;
  name: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own, cloned from the run's template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const server = inject('databaseServer');
  const name = `${server.prefix}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(server.adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}" template "${server.template}"`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(server.adminUrl, name);
  const database = connectDatabase(url, { poolSize: 4, applicationName: 'switchboard-test' });
  return tracked<TestDatabase, 'drop'>(
    'database',
    name,
    {
      ...database,
      url,
      name,
      async drop() {
        await database.close();
        const dropper = postgres(server.adminUrl, { max: 1, onnotice: () => {} });
        try {
          await dropper.unsafe(`drop database if exists "${name}" with (force)`);
        } finally {
          await dropper.end();
        }
      },
    },
    'drop',
  );
}
