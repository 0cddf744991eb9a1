import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { descendantsOf, isRunning } from './support/processes.js';
import { withTimeout } from './support/wait.js';

/**
 * `npm install && npm start` on a fresh checkout: the install builds the server and the dashboard,
 * so the first start only starts. Run in a copy of this checkout without its build output (what a
 * clone has), with this checkout's node_modules: the install's own step (`npm run postinstall`),
 * then `npm start`. The packages' build output comes along with the copy (building them is not
 * what is checked here, and would take longest).
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Not in a clone: ignored by git (installs, build output, local state). */
const NOT_IN_A_CLONE = new Set(['.git', 'node_modules', 'dist', 'packs', '.switchboard', 'coverage', '.vitest', 'scratch']);
const run = promisify(execFile);

let checkout: string;
let database: TestDatabase;
let npmStart: ChildProcess | undefined;
const started: number[] = [];

/** npm without the settings an enclosing `npm test` exports (npm_config_prefix would point it at this repository). */
function npmEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_'))), ...extra };
}

beforeAll(async () => {
  database = await createTestDatabase();
  checkout = await mkdtemp(join(tmpdir(), 'switchboard-first-run-'));
  await cp(ROOT, checkout, {
    recursive: true,
    preserveTimestamps: true,
    filter: (source) => {
      const path = relative(ROOT, source);
      const top = path.split('/')[0]!;
      // dist/ is the server's and the dashboard's (a package's dist/ is its own, and comes along).
      return !NOT_IN_A_CLONE.has(top) && basename(source) !== 'node_modules';
    },
  });
  await symlink(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir');
});

afterAll(async () => {
  // A start that failed (a build, a server) leaves nothing running in the copy it removes.
  const npm = npmStart?.pid;
  if (npm !== undefined) started.push(...descendantsOf(npm), npm);
  for (const pid of started) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  await database?.drop();
  if (checkout) await rm(checkout, { recursive: true, force: true });
});

describe('the first npm start after npm install', () => {
  it('finds dist/ and dist/ui current: the install built them, and the start only starts', async () => {
    const installedAt = performance.now();
    const install = await run('npm', ['run', 'postinstall'], { cwd: checkout, env: npmEnvironment(), maxBuffer: 16 * 1024 * 1024, timeout: 180_000 });
    console.info(`npm run postinstall: ${Math.round(performance.now() - installedAt)} ms`);
    // The install says what it builds and why.
    expect(install.stderr).toContain('building the server into dist/ (dist/ is missing)');
    expect(install.stderr).toMatch(/built the server into dist\/ in \d+\.\d s/);
    expect(install.stderr).toMatch(/built the dashboard into dist\/ui in \d+\.\d s/);
    const built = ['dist/cli/main.js', 'dist/ui/index.html'].map((path) => statSync(join(checkout, path)).mtimeMs);

    const spawnedAt = performance.now();
    const npm = (npmStart = spawn('npm', ['start'], {
      cwd: checkout,
      env: npmEnvironment({ PORT: '0', DATABASE_URL: database.url, LOG_LEVEL: 'info', SWITCHBOARD_SHUTDOWN_TIMEOUT: '3000ms' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    }));
    let stderr = '';
    npm.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    const url = await withTimeout(
      new Promise<string>((resolve) => {
        createInterface({ input: npm.stdout! }).on('line', (line) => {
          const entry = line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : {};
          if (typeof entry['url'] === 'string') resolve(entry['url']);
        });
      }),
      60_000,
      'npm start did not start a server',
    );
    console.info(`npm start: serving ${Math.round(performance.now() - spawnedAt)} ms after spawn`);
    started.push(...descendantsOf(npm.pid!));

    expect(stderr).toContain('dist/ is current; not rebuilding');
    expect(stderr).toContain('dist/ui is current; not rebuilding');
    expect(stderr).not.toMatch(/^ *(still )?building /m);
    expect(['dist/cli/main.js', 'dist/ui/index.html'].map((path) => statSync(join(checkout, path)).mtimeMs)).toEqual(built);
    // What the install built serves: the API and the dashboard.
    const answer = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(await answer.json()).toEqual({ data: { __typename: 'Query' } });
    const dashboard = await fetch(new URL('/ui/', url));
    expect(await dashboard.text()).toContain('<div id="app">');

    npm.kill('SIGTERM');
    expect(await withTimeout(exited, 15_000, 'npm start did not exit')).toBe(0);
  }, 240_000);
});
