import { spawn, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, withTimeout } from './support/wait.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { descendantsOf, isRunning } from './support/processes.js';

/**
 * `npm start` as a supervisor (systemd, a container runtime) runs it: the signal goes to the npm
 * process, and nothing may keep serving after it exits.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILT = join(ROOT, 'dist', 'cli', 'main.js');
const SHUTDOWN_TIMEOUT_MS = 3_000;

let database: TestDatabase;
const started: number[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  // The first run on a fresh checkout compiles; the test is about the runs after it.
  const build = spawnSync(process.execPath, ['scripts/build-if-stale.mjs'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
}, 240_000);

afterAll(async () => {
  // A server the fix failed to stop is not left behind by the test.
  for (const pid of started) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  await database?.drop();
});

function portAcceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('npm start', () => {
  it('starts without rebuilding a current dist/, and SIGTERM to npm leaves no server running', async () => {
    const builtAt = statSync(BUILT).mtimeMs;
    const spawnedAt = performance.now();
    const npm = spawn('npm', ['start'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', DATABASE_URL: database.url, LOG_LEVEL: 'info', SWITCHBOARD_SHUTDOWN_TIMEOUT: `${SHUTDOWN_TIMEOUT_MS}ms` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    npm.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    const port = await withTimeout(
      new Promise<number>((resolve) => {
        createInterface({ input: npm.stdout! }).on('line', (line) => {
          const entry = line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : {};
          if (typeof entry['port'] === 'number' && typeof entry['url'] === 'string') resolve(entry['port']);
        });
      }),
      60_000,
      'npm start did not start a server',
    );
    const startupMs = performance.now() - spawnedAt;
    started.push(...descendantsOf(npm.pid!));

    expect(stderr).toContain('dist/ is current');
    expect(statSync(BUILT).mtimeMs).toBe(builtAt);
    expect(await portAcceptsConnections(port)).toBe(true);
    // The dashboard is built with the server (build:ui runs in postinstall, build and here) and served.
    const dashboard = await fetch(`http://127.0.0.1:${port}/ui/`);
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).toContain('<div id="app">');
    console.info(`npm start: serving ${Math.round(startupMs)} ms after spawn`);

    npm.kill('SIGTERM');
    const code = await withTimeout(exited, SHUTDOWN_TIMEOUT_MS + 2_000, 'npm did not exit');
    expect(code).toBe(0); // the server's clean exit, passed on by npm (143 was npm killed under a running server)
    await eventually(async () => ((await portAcceptsConnections(port)) ? undefined : true), SHUTDOWN_TIMEOUT_MS);
    expect(started.filter(isRunning)).toEqual([]);
  }, 120_000);
});
