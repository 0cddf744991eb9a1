import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { startTestNode, type TestNode } from '../../../test/support/nodes.js';
import { installIntoEmptyProject, packWorkspaces, run, serverPackagesIn } from '../../../test/support/packing.js';

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

describe('@switchboard/client installs alone', () => {
  it('packed with @switchboard/contracts into an empty project, it queries and subscribes there, with nothing of the server installed', async () => {
    const tarballs = await packWorkspaces(['contracts', 'client'], project);
    // Node 20 has no global WebSocket: the program brings `ws`, as the README says.
    const app = await installIntoEmptyProject(project, [...tarballs, 'ws@^8']);
    expect(serverPackagesIn(app)).toEqual([]);

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
