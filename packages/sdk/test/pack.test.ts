import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useRegistryNode } from '../../../test/support/nodes.js';
import { installIntoEmptyProject, run, serverPackagesIn, tarballOf, usePackDirectory, usePackedWorkspaces } from '../../../test/support/packing.js';

/**
 * A program of the kind a user writes, in plain JavaScript (decorators would need a transpiler): it
 * registers two instances, discovers them through the push-fed cache, balances calls over them, and
 * sees the cache empty by push once they are deregistered.
 */
const PROGRAM = `
import WebSocket from 'ws';
import { SwitchboardClient } from '@switchboard/client';
import { LoadBalancer, ServiceDiscovery, SwitchboardRegistry } from '@switchboard/sdk';

const url = process.argv[2];
const client = new SwitchboardClient({ url, webSocketImpl: WebSocket });
const registry = new SwitchboardRegistry(client);
for (const port of [9101, 9102]) {
  await registry.registerService({ id: 'ledger-' + port, name: 'ledger', version: '2.1.0', address: '127.0.0.1', port });
}

const discovery = new ServiceDiscovery({ registry: { url, webSocketImpl: WebSocket } });
const { instances, stale } = await discovery.discover('ledger', { version: '^2' });
const balancer = new LoadBalancer({ strategy: 'ROUND_ROBIN' });
const picked = Array.from({ length: 4 }, () => balancer.select(instances).id);

const emptied = new Promise((resolve, reject) => {
  discovery.onChange(() => discovery.cached('ledger')?.instances.length === 0 && resolve());
  setTimeout(() => reject(new Error('the cache did not learn the deregistrations')), 10_000).unref();
});
for (const { id } of instances) await registry.unregisterService(id);
await emptied;

await discovery.close();
await client.close();
console.log(JSON.stringify({ discovered: instances.map(({ id, port }) => ({ id, port })), stale, picked }));
`;

const registry = useRegistryNode();
const directory = usePackDirectory('switchboard-sdk-pack-');
const packed = usePackedWorkspaces();

describe('@switchboard/sdk installs alone', () => {
  it('packed by `npm run pack` with @switchboard/client and @switchboard/contracts and installed by the line it prints into an empty project, it registers, discovers and balances there, with nothing of the server installed', async () => {
    // The line names the three tarballs, in one folder.
    const tarballs = packed.tarballs;
    expect(tarballs).toEqual(['contracts', 'client', 'sdk'].map((name) => tarballOf(tarballs, name)));
    expect(new Set(tarballs.map((path) => dirname(path))).size).toBe(1);
    // Node 20 has no global WebSocket: the program brings `ws`.
    const app = await installIntoEmptyProject(directory.path, [...tarballs, 'ws@^8']);
    expect(serverPackagesIn(app)).toEqual([]);

    await writeFile(join(app, 'program.mjs'), PROGRAM);
    const { stdout } = await run(process.execPath, ['program.mjs', registry.node.url], { cwd: app, timeout: 30_000 });
    const result = JSON.parse(stdout) as { discovered: { id: string; port: number }[]; stale: boolean; picked: string[] };
    expect(result.discovered).toEqual([
      { id: 'ledger-9101', port: 9101 },
      { id: 'ledger-9102', port: 9102 },
    ]);
    expect(result.stale).toBe(false);
    // Round robin: both instances, in turn, from wherever it started.
    expect(new Set(result.picked)).toEqual(new Set(['ledger-9101', 'ledger-9102']));
    expect(result.picked.slice(1).every((id, index) => id !== result.picked[index])).toBe(true);
  }, 240_000);
});
