import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.js';

/**
 * postgres.js 3.4.9 can crash the whole process when PostgreSQL restarts under load
 * (porsager/postgres#1066, #1154, #1208). patches/postgres+3.4.9.patch guards it, applied by
 * patch-package on install; these tests fail when the installed driver lacks the guard.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const INSTALLED = dirname(dirname(fileURLToPath(import.meta.resolve('postgres'))));
const PATCH = join(ROOT, 'patches', 'postgres+3.4.9.patch');
const REPRO = join(ROOT, 'test', 'fixtures', 'driver-close-race.mjs');

let database: TestDatabase;
const scratch = mkdtempSync(join(tmpdir(), 'switchboard-driver-'));

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
  rmSync(scratch, { recursive: true, force: true });
});

function runRepro(driverDir: string) {
  return spawnSync(process.execPath, [REPRO, driverDir, database.url], { encoding: 'utf8', timeout: 20_000 });
}

describe('the postgres.js nextWrite guard', () => {
  it('is in the installed driver, ESM and CommonJS builds alike', () => {
    for (const build of ['src', 'cjs/src']) {
      const source = readFileSync(join(INSTALLED, build, 'connection.js'), 'utf8');
      const nextWrite = source.slice(source.indexOf('function nextWrite('), source.indexOf('socket.write(chunk, fn)'));
      expect(nextWrite, `${build}/connection.js`).toContain('if (socket === null)');
    }
  });

  it('keeps a process alive when a transaction’s connection closes under it (an unpatched copy dies)', () => {
    // The repro must be able to fail: against a copy with the patch reversed, the process crashes.
    const unpatched = join(scratch, 'postgres');
    cpSync(INSTALLED, unpatched, { recursive: true, dereference: true });
    execFileSync('patch', ['--reverse', '--strip=3', '--directory', unpatched, '--input', PATCH], { stdio: 'ignore' });
    const crashed = runRepro(unpatched);
    expect(crashed.status).not.toBe(0);
    expect(crashed.stderr).toContain("Cannot read properties of null (reading 'write')");

    const guarded = runRepro(INSTALLED);
    expect(guarded.stderr).toBe('');
    expect(guarded.stdout).toContain('transaction rejected: CONNECTION_CLOSED');
    expect(guarded.stdout).toContain('survived');
    expect(guarded.status).toBe(0);
  });
});
