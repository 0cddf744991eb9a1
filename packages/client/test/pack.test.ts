import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { useRegistryNode } from '../../../test/support/nodes.js';
import { installIntoEmptyProject, run, serverPackagesIn, tarballOf, usePackDirectory, usePackedWorkspaces } from '../../../test/support/packing.js';

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

const registry = useRegistryNode();
const directory = usePackDirectory('switchboard-client-pack-');
const packed = usePackedWorkspaces();

describe('@switchboard/client installs alone', () => {
  it('packed by `npm run pack` with @switchboard/contracts and installed from there into an empty project, it queries and subscribes there, with nothing of the server installed', async () => {
    // The two of the three tarballs `npm run pack` printed that a client needs.
    const tarballs = ['contracts', 'client'].map((name) => tarballOf(packed.tarballs, name));
    // Node 20 has no global WebSocket: the program brings `ws`, as the README says.
    const app = await installIntoEmptyProject(directory.path, [...tarballs, 'ws@^8']);
    expect(serverPackagesIn(app)).toEqual([]);

    await writeFile(join(app, 'program.mjs'), PROGRAM);
    const { stdout } = await run(process.execPath, ['program.mjs', registry.node.url], { cwd: app, timeout: 30_000 });
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
