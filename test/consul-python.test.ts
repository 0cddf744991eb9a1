import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SetConfigDocument } from '@switchboard/client';
import { sleep, withTimeout } from './support/wait.js';
import { trackOpen } from './support/leaks.js';
import { useRegistryNode } from './support/nodes.js';
import { feedWaiters, feedWaitersReach } from './support/feed-waiters.js';

// Debian's python3-consul installs for Debian's own Python, which need not be the python3 first on PATH.
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./fixtures/python-consul-client.py', import.meta.url));

function unavailable(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is not installed`;
  if (spawnSync(PYTHON, ['-c', 'import consul']).status !== 0) return `python3-consul is not installed for ${PYTHON} (apt-get install python3-consul)`;
  return undefined;
}

const missing = unavailable();
if (missing) console.warn(`python-consul tests skipped: ${missing}`);

const TOKEN = 'python-consul-test-admin-token-0123456789';
const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: TOKEN });

describe.skipIf(missing !== undefined)("Debian's python3-consul", () => {
  it('registers, discovers, reads passing instances, and blocks on a key until setConfig changes it', async () => {
    const port = new URL(registry.node.url).port;
    const waiting = feedWaiters(registry.node);
    const child = spawn(PYTHON, [SCRIPT, port, TOKEN], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const release = trackOpen('process', `python-consul client (pid ${child.pid})`, async () => {
      child.kill('SIGKILL');
      await exited;
    });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const step = async () => {
      const line = await withTimeout(lines.next(), 20_000, 'the python client said nothing');
      if (line.done) throw new Error(`the python client ended with ${await exited}: ${stderr}`);
      return JSON.parse(line.value) as Record<string, unknown>;
    };
    try {
      expect(await step()).toEqual({ step: 'registered' });
      expect(await step()).toEqual({ step: 'catalog', ids: ['py-api-1', 'py-api-2'], ports: [8081, 8082] });
      expect(await step()).toEqual({ step: 'passing', ids: ['py-api-1'] });
      const blocking = await step();
      expect(blocking).toMatchObject({ step: 'blocking', found: false });
      expect(blocking['index']).toEqual(expect.any(String)); // python-consul keeps X-Consul-Index as text
      await feedWaitersReach(registry.node, waiting + 1); // its blocking get is parked on the server
      const parkedAt = performance.now();
      await sleep(200); // time passing is the subject: while nothing changes, the get stays blocked
      const client = registry.clients.create(registry.node.url, TOKEN);
      const writtenAt = performance.now();
      await client.request(SetConfigDocument, { key: 'py.feature', value: 'enabled' });
      const woken = await step();
      expect(woken).toMatchObject({ step: 'woken', value: 'enabled' });
      expect(Number(woken['index'])).toBeGreaterThan(Number(blocking['index']));
      // Its get started before it was parked and ended after the write began: it waited all that time.
      expect(woken['waited_ms']).toBeGreaterThanOrEqual(Math.floor(writtenAt - parkedAt) - 1);
      expect(await exited).toBe(0);
    } finally {
      child.kill();
      await exited;
      release();
    }
  });
});
