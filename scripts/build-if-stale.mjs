#!/usr/bin/env node
/**
 * Builds dist/ only when a source is newer than it: `npm start` runs this first, and a restart
 * should not pay for a full compile (about 20 s) when nothing changed (about 3 s to serving).
 * The server (tsc into dist/) and the dashboard (Vite, ui/ into dist/ui) are checked apart;
 * `--dashboard` checks only the dashboard (what `npm test` needs: a build that is current is left
 * alone, so test runs side by side never rewrite the files the other is serving).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const output = join(root, 'dist', 'cli', 'main.js');
const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs; // a file deleted or renamed changes its directory
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function builtAt(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Runs a build in a child this process stops with itself: a SIGTERM that reaches `npm start` while it builds must not leave a compiler running. */
function run(script, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: root, stdio: 'inherit' });
    const stop = (signal) => child.kill(signal);
    for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, stop);
    child.on('exit', (code, signal) => {
      for (const name of ['SIGTERM', 'SIGINT']) process.off(name, stop);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

const require = createRequire(import.meta.url);
const dashboardOnly = process.argv.includes('--dashboard');
const built = builtAt(output);
const changed = Math.max(...inputs.map((input) => newestMtime(join(root, input))));
if (dashboardOnly) {
  // The server's dist/ is not needed.
} else if (built !== undefined && built >= changed) {
  console.error('dist/ is current; not rebuilding');
} else {
  console.error(built === undefined ? 'dist/ is missing: building' : 'sources changed since the last build: building');
  // The same compile as `npm run build`.
  const code = await run(require.resolve('typescript/bin/tsc'), ['-p', 'tsconfig.build.json']);
  if (code !== 0) process.exit(code);
}

const dashboard = builtAt(join(root, 'dist', 'ui', 'index.html'));
if (dashboard === undefined || dashboard < newestMtime(join(root, 'ui'))) {
  console.error(dashboard === undefined ? 'dist/ui is missing: building the dashboard' : 'the dashboard changed: building it');
  // The same build as `npm run build:ui`.
  const code = await run(join(dirname(require.resolve('vite/package.json')), 'bin', 'vite.js'), [
    'build',
    '--config',
    'ui/vite.config.ts',
    '--logLevel',
    'warn',
  ]);
  if (code !== 0) process.exit(code);
}
