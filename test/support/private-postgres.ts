import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.js';
import { runMigrations } from '../../src/db/migrate.js';
import { createLogger } from '../../src/logger.js';
import { childrenOf } from './processes.js';

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
  /**
   * Freezes every PostgreSQL process (SIGSTOP): connections stay open and statements hang, as
   * with a partitioned or overloaded server, instead of failing at once as with a stopped one.
   */
  pause(): void;
  resume(): void;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-private-pg-'));
  const log = createLogger('warn');
  let server: EmbeddedPostgres | undefined = await startEmbeddedPostgres({ dataDir, log });
  const { port, url } = server;
  await runMigrations(url);

  // Every backend calls setsid(), so no one process group holds them all: signal the postmaster
  // and each of its children (found through /proc, so Linux only).
  const signalServer = (signal: NodeJS.Signals) => {
    const postmaster = Number(readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    for (const pid of [postmaster, ...childrenOf(postmaster)]) {
      try {
        process.kill(pid, signal);
      } catch {
        // exited meanwhile (a backend whose client left)
      }
    }
    paused = signal === 'SIGSTOP';
  };
  let paused = false;
  const stop = async () => {
    if (paused) signalServer('SIGCONT');
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
    pause: () => signalServer('SIGSTOP'),
    resume: () => signalServer('SIGCONT'),
    async dispose() {
      if (server && paused) signalServer('SIGCONT');
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
