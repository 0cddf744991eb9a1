#!/usr/bin/env node
/**
 * `npm run pack [-- <folder>]`: the tarballs of @switchboard/contracts, @switchboard/client,
 * @switchboard/sdk and the sdk's backends (@switchboard/etcd, consul, kubernetes), built first, in one folder (packs/ by default), and the `npm install` line that
 * installs them into another project: the packages without a registry. A folder's older tarballs of
 * these packages are removed first, so it holds one version of each.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
/** In dependency order: each one's dependencies come before it. */
const WORKSPACES = ['contracts', 'client', 'sdk', 'etcd', 'consul', 'kubernetes'];

const destination = resolve(process.argv[2] ?? join(root, 'packs'));
mkdirSync(destination, { recursive: true });
for (const file of readdirSync(destination)) {
  if (WORKSPACES.some((name) => file.startsWith(`switchboard-${name}-`) && file.endsWith('.tgz'))) rmSync(join(destination, file));
}

// `npm pack` packs what is in dist/: build it first (tsc -b does nothing when it is current).
await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', ...WORKSPACES.map((name) => `packages/${name}`)], { cwd: root });
const { stdout } = await run(
  'npm',
  ['pack', '--json', '--pack-destination', destination, ...WORKSPACES.flatMap((name) => ['--workspace', `packages/${name}`])],
  { cwd: root, maxBuffer: 16 * 1024 * 1024 },
);
const packed = JSON.parse(stdout).sort(
  (a, b) => WORKSPACES.indexOf(a.name.replace('@switchboard/', '')) - WORKSPACES.indexOf(b.name.replace('@switchboard/', '')),
);

const quoted = (path) => (/^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`);
console.log(`Packed into ${destination}:`);
for (const { name, version, filename, size } of packed) console.log(`  ${name}@${version}  ${filename}  (${(size / 1024).toFixed(1)} kB)`);
console.log('Install them into another project (the client alone needs only the first two; a backend only with the sdk) with:');
const core = packed.filter(({ name }) => ['contracts', 'client', 'sdk'].includes(name.replace('@switchboard/', '')));
console.log(`  npm install ${core.map(({ filename }) => quoted(join(destination, filename))).join(' ')}`);
console.log('and, for a backend besides Switchboard, its package too:');
for (const { name, filename } of packed.filter((each) => !core.includes(each))) console.log(`  ${name}: ${quoted(join(destination, filename))}`);
