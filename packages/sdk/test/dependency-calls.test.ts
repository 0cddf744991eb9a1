import { spawn } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CircuitBreakerRegistry, discoveryPicker, ServiceClient, ServiceDiscovery, SwitchboardRegistry } from '@switchboard/sdk';
import { tsImport } from 'tsx/esm/api';
import { describe, expect, it } from 'vitest';
import { eventually, sleep } from '../../../test/support/wait.js';
import { trackOpen } from '../../../test/support/leaks.js';
import { useRegistryNode } from '../../../test/support/nodes.js';
import { startHttpTarget } from '../../../test/support/targets.js';
import type * as Payments from './fixtures/payments.js';

/**
 * What `start` injects for a `@dependency`: a ServiceClient over the discovery cache, balanced, behind breakers
 * and outlier ejection, and drained on SIGTERM. The ledgers are real HTTP servers registered in a real registry;
 * the decorated class runs through tsx (see decorators.test.ts).
 */
const fixture = useRegistryNode();
const loadPayments = () => tsImport('./fixtures/payments.ts', import.meta.url) as Promise<typeof Payments>;

function registry() {
  return new SwitchboardRegistry(fixture.clients.create(fixture.node.url));
}

async function twoLedgers(sdk: SwitchboardRegistry, prefix: string) {
  const ledgers = await Promise.all([startHttpTarget(), startHttpTarget()]);
  const ids = [`${prefix}-a`, `${prefix}-b`];
  await Promise.all(
    ledgers.map((ledger, i) => sdk.registerService({ id: ids[i]!, name: 'ledger', version: '2.0.0', address: '127.0.0.1', port: ledger.port })),
  );
  return { ledgers, ids };
}

describe('a @dependency is a ServiceClient over discovery', () => {
  it('spreads calls over the passing instances', async () => {
    const { PaymentService, start } = await loadPayments();
    const sdk = registry();
    const { ledgers, ids } = await twoLedgers(sdk, 'spread');
    for (const ledger of ledgers) ledger.answer('/balance', { status: 200, body: '' });
    const running = await start(PaymentService, { registry: sdk, address: '127.0.0.3', handleSignals: false });
    try {
      for (let i = 0; i < 20; i++) await running.instance.ledger.get('/balance');
      // Round robin: each instance in turn.
      expect(ledgers.map((ledger) => ledger.hits('/balance').length)).toEqual([10, 10]);
    } finally {
      await running.stop();
      await Promise.all(ids.map((id) => sdk.unregisterService(id)));
      await Promise.all(ledgers.map((ledger) => ledger.close()));
    }
  });

  it('ejects a failing instance and moves its traffic to the other', async () => {
    const { PaymentService, start } = await loadPayments();
    const sdk = registry();
    const { ledgers, ids } = await twoLedgers(sdk, 'eject');
    const [healthy, failing] = ledgers as [(typeof ledgers)[0], (typeof ledgers)[0]];
    healthy.answer('/balance', { status: 200, body: '' });
    failing.answer('/balance', { status: 500, body: 'disk full' });
    const running = await start(PaymentService, { registry: sdk, address: '127.0.0.4', handleSignals: false });
    try {
      // Every call succeeds: a 500 is retried on the other instance.
      for (let i = 0; i < 20; i++) await running.instance.ledger.get('/balance');
      expect(running.instance.ledger.breakers.isEjected(ids[1]!)).toBe(true);
      const failed = failing.hits('/balance').length;
      expect(failed).toBeGreaterThanOrEqual(5);
      expect(failed).toBeLessThan(10);

      const before = healthy.hits('/balance').length;
      for (let i = 0; i < 10; i++) await running.instance.ledger.get('/balance');
      expect(failing.hits('/balance').length).toBe(failed);
      expect(healthy.hits('/balance').length).toBe(before + 10);
      expect(running.instance.ledger.url('/balance')).toBe(healthy.url('/balance'));
    } finally {
      await running.stop();
      await Promise.all(ids.map((id) => sdk.unregisterService(id)));
      await Promise.all(ledgers.map((ledger) => ledger.close()));
    }
  });

  it('as a process: SIGTERM deregisters first, lets the call in flight finish, then exits 0', { timeout: 120_000 }, async () => {
    const sdk = registry();
    // A ledger that holds every call until the test releases it.
    const held: ServerResponse[] = [];
    const ledger = createServer((_request, response) => held.push(response));
    await new Promise<void>((resolve) => ledger.listen(0, '127.0.0.1', resolve));
    const { port } = ledger.address() as AddressInfo;
    await sdk.registerService({ id: 'held-ledger', name: 'ledger', version: '2.0.0', address: '127.0.0.1', port });

    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/drain-payments.ts', import.meta.url))], {
      env: { ...process.env, SWITCHBOARD_URL: fixture.node.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const release = trackOpen('process', `drain-payments (pid ${child.pid})`, async () => {
      child.kill('SIGKILL');
      await exited;
    });
    try {
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const lines: Record<string, unknown>[] = [];
      createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
      const ready = await eventually(() => {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stderr}`);
        return lines.find((line) => 'ready' in line)?.['ready'] as string | undefined;
      }, 60_000);
      await eventually(() => (held.length === 1 ? true : undefined), 30_000);

      child.kill('SIGTERM');
      // Deregistered while the call is still held, the process still running.
      await eventually(async () => ((await sdk.getService(ready)) === undefined ? true : undefined), 30_000);
      expect(child.exitCode).toBeNull();
      // Time passing with nothing happening: the process does not exit while the call is held.
      await sleep(300);
      expect(child.exitCode).toBeNull();

      held[0]!.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'entry-1' }));
      expect(await exited).toBe(0);
      expect(lines).toContainEqual({ completed: { id: 'entry-1' } });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      release();
      await sdk.unregisterService('held-ledger');
      ledger.closeAllConnections();
      await new Promise((resolve) => ledger.close(resolve));
    }
  });
});

describe('breakers follow the discovery cache', () => {
  it('drops the breakers of instances that left, so churn does not grow them', async () => {
    const sdk = registry();
    const target = await startHttpTarget();
    const discovery = new ServiceDiscovery({ registry: fixture.clients.create(fixture.node.url) });
    const breakers = new CircuitBreakerRegistry();
    const picker = discoveryPicker(discovery, 'churning', { breakers });
    const client = new ServiceClient({ service: 'churning', picker, breakers, retry: { maxRetries: 0 } });
    const held: number[] = [];
    try {
      let ids: string[] = [];
      for (let round = 0; round < 5; round++) {
        // Ten new instances replace the ten of the round before (a rolling deploy).
        const next = Array.from({ length: 10 }, (_, i) => `churning-${round}-${i}`);
        await Promise.all(next.map((id) => sdk.registerService({ id, name: 'churning', address: '127.0.0.1', port: target.port })));
        await Promise.all(ids.map((id) => sdk.unregisterService(id)));
        ids = next;
        await eventually(async () => {
          const known = (await discovery.instances('churning')).map((instance) => instance.id);
          return known.length === 10 && known.every((id) => ids.includes(id)) ? true : undefined;
        });
        // A call through each instance: each gets a breaker.
        for (let i = 0; i < 10; i++) await client.get('/entries');
        held.push(breakers.size);
      }
      expect(held).toEqual([10, 10, 10, 10, 10]);
    } finally {
      picker.close();
      await discovery.close();
      await target.close();
    }
  });
});
