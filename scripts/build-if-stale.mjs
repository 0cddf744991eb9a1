#!/usr/bin/env node
/**
 * Builds dist/ only when a source is newer than it: `npm start` runs this first, and a restart
 * should not pay for a full compile (about 20 s) when nothing changed (about 3 s to serving).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
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

function builtAt() {
  try {
    return statSync(output).mtimeMs;
  } catch {
    return undefined;
  }
}

const built = builtAt();
const changed = Math.max(...inputs.map((input) => newestMtime(join(root, input))));
if (built !== undefined && built >= changed) {
  console.error('dist/ is current; not rebuilding');
  process.exit(0);
}
console.error(built === undefined ? 'dist/ is missing: building' : 'sources changed since the last build: building');
// The same compile as `npm run build`, in a child this process stops with itself: a SIGTERM that
// reaches `npm start` while it builds must not leave a compiler running.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const build = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => build.kill(signal));
build.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
