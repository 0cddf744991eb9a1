#!/usr/bin/env node
/**
 * Builds dist/ only when a source is newer than it: `npm install` runs this (so the first `npm start`
 * only starts), `npm start` runs it first, and a restart should not pay for a full compile (about
 * 20 s) when nothing changed (about 3 s to serving). The server (tsc into dist/) and the dashboard
 * (Vite, ui/ into dist/ui) are checked apart; `--dashboard` checks only the dashboard (what
 * `npm test` needs: a build that is current is left alone, so test runs side by side never rewrite
 * the files the other is serving). `--no-check` compiles the server without type checking (tsc
 * --noCheck: the same JavaScript, in a third of the time), for `npm install`, whose sources are the
 * checked-out ones that CI type-checked; `npm start`, `npm run build` and `npm test` still check.
 *
 * Every build says what it builds, why, and how long it took, and a long one says it is still going.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
/** Seconds between "still building" lines. */
const PROGRESS_EVERY_S = 10;

/** Files under `paths` changed after `time`, and directories (a file in one was added, removed or renamed). */
function changedAfter(paths, time) {
  const files = [];
  const directories = [];
  const visit = (path) => {
    const stat = statSync(path);
    const isDirectory = stat.isDirectory();
    if (stat.mtimeMs > time) (isDirectory ? directories : files).push({ path: relative(root, path), mtimeMs: stat.mtimeMs });
    if (isDirectory) for (const entry of readdirSync(path)) visit(join(path, entry));
  };
  for (const path of paths) visit(join(root, path));
  return { files, directories };
}

function builtAt(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

const newest = (entries) => entries.reduce((a, b) => (b.mtimeMs > a.mtimeMs ? b : a)).path;

/** Why `output` (a file in `directory`) needs a build, or undefined when it is current. */
function staleness(directory, output, inputs) {
  const built = builtAt(join(root, output));
  if (built === undefined) return `${existsSync(join(root, directory)) ? output : `${directory}/`} is missing`;
  const { files, directories } = changedAfter(inputs, built);
  if (files.length > 0) {
    const others = files.length - 1;
    return `${newest(files)}${others > 0 ? ` and ${others} other file${others === 1 ? '' : 's'}` : ''} changed since the last build`;
  }
  if (directories.length > 0) return `a file in ${newest(directories)}/ was removed or renamed since the last build`;
  return undefined;
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Runs a build in a child this process stops with itself (a SIGTERM that reaches `npm start` while it
 * builds must not leave a compiler running), saying what and why before, how long after, and every
 * few seconds in between. A build that fails loses `output`: tsc writes its files even when the
 * types are wrong, and the next run must not take them for a current build.
 */
function build(what, why, output, command, script, args) {
  console.error(`building ${what} (${why}): ${command}`);
  const startedAt = performance.now();
  const progress = setInterval(() => console.error(`  still building ${what}: ${seconds(performance.now() - startedAt)} so far`), PROGRESS_EVERY_S * 1000);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: root, stdio: 'inherit' });
    const stop = (signal) => child.kill(signal);
    for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, stop);
    child.on('exit', (code, signal) => {
      clearInterval(progress);
      for (const name of ['SIGTERM', 'SIGINT']) process.off(name, stop);
      const status = code ?? (signal ? 1 : 0);
      const took = seconds(performance.now() - startedAt);
      if (status !== 0) rmSync(join(root, output), { force: true });
      console.error(status === 0 ? `built ${what} in ${took}` : `building ${what} failed after ${took} (exit ${code ?? signal})`);
      resolve(status);
    });
  });
}

const dashboardOnly = process.argv.includes('--dashboard');
const typeCheck = !process.argv.includes('--no-check');

if (!dashboardOnly) {
  const output = 'dist/cli/main.js';
  const why = staleness('dist', output, ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json']);
  if (why === undefined) {
    console.error('dist/ is current; not rebuilding');
  } else {
    // The same compile as `npm run build` (--noCheck emits the same files: isolatedModules is on).
    const args = ['-p', 'tsconfig.build.json', ...(typeCheck ? [] : ['--noCheck'])];
    const code = await build('the server into dist/', why, output, `tsc ${args.join(' ')}`, require.resolve('typescript/bin/tsc'), args);
    if (code !== 0) process.exit(code);
  }
}

const dashboardOutput = 'dist/ui/index.html';
const dashboardWhy = staleness('dist/ui', dashboardOutput, ['ui']);
if (dashboardWhy === undefined) {
  console.error('dist/ui is current; not rebuilding');
} else {
  // The same build as `npm run build:ui`.
  const args = ['build', '--config', 'ui/vite.config.ts', '--logLevel', 'warn'];
  const vite = join(dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
  const code = await build('the dashboard into dist/ui', dashboardWhy, dashboardOutput, `vite ${args.join(' ')}`, vite, args);
  if (code !== 0) process.exit(code);
}
