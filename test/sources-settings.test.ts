import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { openSources, type ModuleLoader } from '../src/registry/sources/index.js';
import { loadSettings, SettingsError } from '../src/settings.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { trackOpen } from './support/leaks.js';
import { startTestNode } from './support/nodes.js';
import { withTimeout } from './support/wait.js';

// SWITCHBOARD_SOURCES is checked before anything starts: a value that cannot be followed stops
// `switchboard serve` with a sentence naming the entry at fault and what to do.

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function settingsError(value: string): string {
  try {
    loadSettings({ SWITCHBOARD_SOURCES: value });
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return (error as Error).message;
  }
  throw new Error(`SWITCHBOARD_SOURCES=${value} was accepted`);
}

describe('SWITCHBOARD_SOURCES', () => {
  it('reads a list of named sources, each with its backend options', () => {
    const settings = loadSettings({
      SWITCHBOARD_SOURCES: JSON.stringify([
        { name: 'etcd-prod', type: 'etcd', endpoints: ['http://127.0.0.1:2379'], servicePrefix: '/services/' },
        { name: 'dc1', type: 'consul', address: '127.0.0.1:8500' },
      ]),
      SWITCHBOARD_SOURCE_GRACE: '5s',
    });
    expect(settings.sources.list).toEqual([
      { name: 'etcd-prod', type: 'etcd', options: { endpoints: ['http://127.0.0.1:2379'], servicePrefix: '/services/' } },
      { name: 'dc1', type: 'consul', options: { address: '127.0.0.1:8500' } },
    ]);
    expect(settings.sources.graceMs).toBe(5_000);
    expect(loadSettings({}).sources).toEqual({ list: [], graceMs: 60_000, leaderTtlMs: 10_000 });
  });

  it('refuses a value that is not a list of sources, naming the entry at fault', () => {
    expect(settingsError('etcd://127.0.0.1:2379')).toMatch(
      /^SWITCHBOARD_SOURCES must be a JSON array of sources: it is not valid JSON( \(at character 0\))?\.$/,
    );
    // The value may hold credentials: a refusal does not quote it.
    expect(settingsError('[{"name":"dc1","type":"consul","token":s3cret-t0ken}]')).not.toContain('s3cret');
    expect(settingsError('{"name":"a","type":"etcd"}')).toMatch(/^SWITCHBOARD_SOURCES must be a JSON array of sources, such as \[/);
    expect(settingsError('[{"name":"a","type":"etcd"}, "consul"]')).toBe('SWITCHBOARD_SOURCES entry 2 must be an object with a name and a type.');
    expect(settingsError('[{"type":"etcd"}]')).toBe(
      'SWITCHBOARD_SOURCES entry 1 needs a "name" of 1-63 letters, digits, ".", "_" or "-" (starting with a letter or digit), got undefined.',
    );
    expect(settingsError('[{"name":"prod etcd","type":"etcd"}]')).toMatch(/^SWITCHBOARD_SOURCES entry 1 needs a "name" .* got "prod etcd"\.$/);
    expect(settingsError('[{"name":"a","type":"etcd"},{"name":"k8s","type":"k8s"}]')).toBe(
      'SWITCHBOARD_SOURCES entry 2 ("k8s") needs a "type" of etcd, consul, kubernetes, got "k8s".',
    );
    expect(settingsError('[{"name":"a","type":"etcd"},{"name":"a","type":"consul"}]')).toBe(
      'SWITCHBOARD_SOURCES entry 2 ("a"): another source already has this name.',
    );
  });

  it('refuses a grace that is not a duration', () => {
    expect(() => loadSettings({ SWITCHBOARD_SOURCE_GRACE: 'a while' })).toThrow(/^SWITCHBOARD_SOURCE_GRACE must be a duration/);
  });

  it('stops `switchboard serve` before it starts: exit 2, the sentence on stderr', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', SWITCHBOARD_SOURCES: '[{"name":"k8s","type":"kubernetes"},{"name":"k8s","type":"kubernetes"}]' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const release = trackOpen('process', `switchboard serve (pid ${child.pid})`, async () => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await withTimeout(new Promise<number | null>((resolve) => child.once('exit', resolve)), 30_000, 'serve did not exit');
    release();
    expect(code).toBe(2);
    expect(stderr).toBe('switchboard: SWITCHBOARD_SOURCES entry 2 ("k8s"): another source already has this name.\n');
  });
});

describe('a source that cannot be opened fails the start', () => {
  let database: TestDatabase;
  let elsewhere: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    elsewhere = await mkdtemp(path.join(tmpdir(), 'sbt-no-packages-'));
  });
  afterAll(async () => {
    await database?.drop();
    if (elsewhere) await rm(elsewhere, { recursive: true, force: true });
  });

  it('names the package to install when it is not installed', async () => {
    // A module outside this checkout resolves packages as a server installed without the backend would: Node finds none.
    const loaderFile = path.join(elsewhere, 'loader.mjs');
    await writeFile(loaderFile, 'export default (specifier) => import(specifier);\n');
    const load = ((await import(pathToFileURL(loaderFile).href)) as { default: ModuleLoader }).default;
    const log = createLogger('silent');
    await expect(openSources([{ name: 'etcd-prod', type: 'etcd', options: {} }], log, load)).rejects.toThrow(
      'SWITCHBOARD_SOURCES: source "etcd-prod" (type etcd) needs the package @switchboard/etcd: install it beside switchboard (npm install @switchboard/etcd).',
    );
    await expect(openSources([{ name: 'cluster', type: 'kubernetes', options: {} }], log, load)).rejects.toThrow(
      /needs the package @switchboard\/kubernetes: install it beside switchboard \(npm install @switchboard\/kubernetes\)\.$/,
    );
  });

  it("names the source whose options its backend refuses, and the backend's reason", async () => {
    const start = startTestNode(database.url, { SWITCHBOARD_SOURCES: '[{"name":"etcd-prod","type":"etcd","servicePrefix":"services"}]' });
    await expect(start).rejects.toThrow(/^SWITCHBOARD_SOURCES: source "etcd-prod" \(type etcd\): servicePrefix must be a key prefix ending in "\/"/);
  });
});
