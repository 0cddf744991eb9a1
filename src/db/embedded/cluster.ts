import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../logger.js';
import type { Binaries, RunAs } from './binaries.js';

/** The cluster's superuser; its password is generated once and kept beside the cluster. */
export const SUPERUSER = 'switchboard';

export function readOrCreatePassword(baseDir: string): string {
  const file = join(baseDir, 'pg-password');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = randomBytes(24).toString('base64url');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

export function initCluster(binaries: Binaries, pgDir: string, baseDir: string, password: string, runAs: RunAs | undefined, log: Logger): void {
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

export function refuseIfAlreadyRunning(pgDir: string): void {
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
