import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { createLogger } from '../../src/logger.js';

/** Where the test run's PostgreSQL is, and how its databases are named. */
export interface TestDatabaseServer {
  adminUrl: string;
  /** Every database of this run starts with it, so teardown can find them all. */
  prefix: string;
  /** Migrated once; test files clone it. */
  template: string;
}

/** A PostgreSQL server for a test or benchmark run. */
export interface RunServer {
  /** Connection URL of a database on it from which to create others. */
  adminUrl: string;
  embedded: boolean;
  /** Stops an embedded server and removes its directory; leaves a given one alone. */
  stop(): Promise<void>;
}

/** The server at `serverUrl` when given, else an embedded one in a new temporary directory. */
export async function postgresForRun(serverUrl: string | undefined, directoryPrefix: string): Promise<RunServer> {
  if (serverUrl) return { adminUrl: serverUrl, embedded: false, stop: async () => {} };
  const dataDir = mkdtempSync(join(tmpdir(), `${directoryPrefix}-`));
  const embedded = await startEmbeddedPostgres({ dataDir, log: createLogger('warn') });
  return {
    adminUrl: embedded.adminUrl,
    embedded: true,
    async stop() {
      await embedded.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
