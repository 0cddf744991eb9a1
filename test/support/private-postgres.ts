import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.js';
import { runMigrations } from '../../src/db/migrate.js';
import { createLogger } from '../../src/logger.js';

/**
 * A PostgreSQL of the test's own (the embedded binaries, in a temporary directory), which the
 * test may stop, start and restart: fault tests never touch the server other tests share.
 * It comes back on the same port, so servers and pools pointed at `url` find it again.
 */
export interface PrivatePostgres {
  /** The migrated application database. */
  url: string;
  port: number;
  readonly running: boolean;
  /** Fast shutdown (SIGINT, like `pg_ctl stop -m fast`): sessions are terminated. */
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-private-pg-'));
  const log = createLogger('warn');
  let server: EmbeddedPostgres | undefined = await startEmbeddedPostgres({ dataDir, log });
  const { port, url } = server;
  await runMigrations(url);

  const stop = async () => {
    const running = server;
    server = undefined;
    await running?.stop();
  };
  const start = async () => {
    if (server) return;
    server = await startEmbeddedPostgres({ dataDir, log, port });
  };
  return {
    url,
    port,
    get running() {
      return server !== undefined;
    },
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    async dispose() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
