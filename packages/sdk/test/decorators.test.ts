import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { UpdateTtlCheckDocument } from '@switchboard/client';
import { SwitchboardRegistry, type RegistryEvent } from '@switchboard/sdk';
import { tsImport } from 'tsx/esm/api';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { eventually, sleep } from '../../../test/support/wait.js';
import { trackOpen } from '../../../test/support/leaks.js';
import { useRegistryNode } from '../../../test/support/nodes.js';
import type * as Misused from './fixtures/misused.js';
import type * as Payments from './fixtures/payments.js';

/**
 * `@service`, `@dependency` and `@config` as TypeScript compiles standard decorators. Vitest's transformer
 * cannot lower them, so the decorated classes live in fixtures loaded through tsx (esbuild), in this process
 * or as a process of their own.
 */
const fixture = useRegistryNode();
const load = <T>(file: string): Promise<T> => tsImport(`./fixtures/${file}`, import.meta.url) as Promise<T>;

function registry(options: { fetch?: typeof fetch } = {}) {
  return new SwitchboardRegistry(fixture.clients.create(fixture.node.url, undefined, options));
}

/** A fetch that records the name of each GraphQL operation once the server has answered it. */
function answeredFetch() {
  const answered: string[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const { query } = JSON.parse(String(init?.body)) as { query: string };
    answered.push(/^\s*(?:query|mutation)\s+(\w+)/.exec(query)?.[1] ?? 'anonymous');
    return response;
  };
  return { answered, fetch: fetchImpl };
}

describe('misused decorators fail naming the class and the field', () => {
  it.each([
    ['noName', 'Nameless', 'name', /is required/],
    ['portOutOfRange', 'HugePort', 'port', /must be from 1 to 65535/],
    ['dependsOnNotAName', 'BadDependsOn', 'dependsOn[1]', /"led ger@latest" is not a service name or "name@range"/],
    ['dependencyFieldNotAName', 'BadDependencyField', 'ledger', /@dependency\("ledger@@2"\) must name a service/],
    ['configFieldNotAKey', 'BadConfigField', 'rateLimit', /@config\("rate limit"\) must name a configuration key/],
    ['checkIntervalTooShort', 'FastCheck', 'healthCheck.interval', /must be at least 1s/],
    ['ephemeralWithTtl', 'LeasedAndBound', 'healthCheck.ttl', /an ephemeral service is kept by its connection, not a lease/],
  ] as const)('%s', async (misuse, className, field, problem) => {
    const { misuses } = await load<typeof Misused>('misused.ts');
    let thrown: unknown;
    try {
      misuses[misuse]();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ name: 'ServiceDeclarationError', className, field });
    expect((thrown as Error).message.startsWith(`${className}.${field}: `)).toBe(true);
    expect((thrown as Error).message).toMatch(problem);
  });
});

describe("the README's @service example", () => {
  it('describeService returns the validated declaration', async () => {
    const { PaymentService, describeService } = await load<typeof Payments>('payments.ts');
    expect(describeService(PaymentService)).toMatchObject({
      className: 'PaymentService',
      name: 'payments',
      version: '2.4.1',
      port: 8443,
      healthCheck: { http: '/healthz', interval: '10s' },
      dependencies: [{ service: 'ledger', range: '^2' }],
      dependencyFields: [{ field: 'ledger', service: 'ledger' }],
      configFields: [{ field: 'rateLimit', key: 'payments.rate_limit' }],
    });
  });

  it('registers, becomes ready only once a ledger@^2 instance passes, injects its fields and keeps @config current', async () => {
    const { PaymentService, start } = await load<typeof Payments>('payments.ts');
    const requests = answeredFetch();
    const sdk = registry({ fetch: requests.fetch });
    const events: RegistryEvent[] = [];
    const stopEvents = await sdk.subscribe(['service.registered'], (event) => events.push(event));
    await sdk.setConfig('payments.rate_limit', 120);
    // A passing ledger of the wrong major version, and a ledger 2 whose TTL check is still critical.
    await sdk.registerService({ id: 'ledger-1', name: 'ledger', version: '1.9.0', address: '127.0.0.1', port: 9001 });
    await sdk.registerService({ id: 'ledger-2', name: 'ledger', version: '2.1.0', address: '127.0.0.1', port: 9002 });
    const check = await sdk.registerHealthCheck('ledger-2', { name: 'alive', ttl: '1m' });

    let ready = false;
    const starting = start(PaymentService, { registry: sdk, address: '127.0.0.1', handleSignals: false }).then((running) => {
      ready = true;
      return running;
    });
    await eventually(() => events.find((event) => event.data['service_name'] === 'payments'), 30_000);
    const registered = await sdk.getService('payments-127-0-0-1-8443');
    expect(registered).toMatchObject({ name: 'payments', version: '2.4.1', address: '127.0.0.1', port: 8443 });
    // start() has had its answer about ledger (no passing ledger@^2)…
    await eventually(() => (requests.answered.includes('DiscoverInstances') ? true : undefined), 10_000);
    // …and, time passing with nothing happening, is still waiting for one.
    await sleep(300);
    expect(ready).toBe(false);

    await fixture.client.request(UpdateTtlCheckDocument, { checkId: check.id, status: 'PASSING' });
    const running = await starting;
    expect(running.id).toBe('payments-127-0-0-1-8443');
    expect(running.instance).toBeInstanceOf(PaymentService);
    expect(running.instance.ledger.url('/entries')).toBe('http://127.0.0.1:9002/entries');
    expect(running.instance.rateLimit).toBe(120);

    await sdk.setConfig('payments.rate_limit', 250);
    await eventually(() => (running.instance.rateLimit === 250 ? true : undefined), 30_000);

    await running.stop();
    expect(await sdk.getService(running.id)).toBeUndefined();
    await stopEvents();
    await Promise.all(['ledger-1', 'ledger-2'].map((id) => sdk.unregisterService(id)));
  });

  it('fails after its timeout, naming the dependency that never passed, and deregisters', async () => {
    const { PaymentService, start } = await load<typeof Payments>('payments.ts');
    const sdk = registry();
    await sdk.registerService({ id: 'old-ledger', name: 'ledger', version: '1.0.0', address: '127.0.0.2', port: 9003 });
    await expect(start(PaymentService, { registry: sdk, address: '127.0.0.2', dependencyTimeoutMs: 500, handleSignals: false })).rejects.toThrow(
      'PaymentService is not ready: no passing instance of ledger@^2 after 500ms.',
    );
    expect(await sdk.getService('payments-127-0-0-2-8443')).toBeUndefined();
    await sdk.unregisterService('old-ledger');
  });

  it('without a registry, registers with the server at SWITCHBOARD_URL, or says what it needs', async () => {
    const { PaymentService, start } = await load<typeof Payments>('payments.ts');
    const sdk = registry();
    await sdk.registerService({ id: 'env-ledger', name: 'ledger', version: '2.0.0', address: '127.0.0.1', port: 9005 });
    const savedUrl = process.env['SWITCHBOARD_URL'];
    const savedSocket = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
    process.env['SWITCHBOARD_URL'] = fixture.node.url;
    try {
      // A runtime without a global WebSocket (Node 20), then one with it (Node 22+; here `ws`).
      delete (globalThis as { WebSocket?: unknown }).WebSocket;
      await expect(start(PaymentService, { address: '127.0.0.5', handleSignals: false })).rejects.toThrow(/no global WebSocket \(Node before 22\)/);
      Object.defineProperty(globalThis, 'WebSocket', { value: WebSocket, configurable: true, writable: true });
      const running = await start(PaymentService, { address: '127.0.0.5', handleSignals: false });
      expect(await sdk.getService(running.id)).toMatchObject({ name: 'payments', address: '127.0.0.5' });
      expect(running.instance.ledger.url('/entries')).toBe('http://127.0.0.1:9005/entries');
      await running.stop();
      expect(await sdk.getService(running.id)).toBeUndefined();
    } finally {
      if (savedUrl === undefined) delete process.env['SWITCHBOARD_URL'];
      else process.env['SWITCHBOARD_URL'] = savedUrl;
      delete (globalThis as { WebSocket?: unknown }).WebSocket;
      if (savedSocket) Object.defineProperty(globalThis, 'WebSocket', savedSocket);
      await sdk.unregisterService('env-ledger');
    }
  });

  it('as a process: SIGTERM deregisters the instance, then the process exits 0', async () => {
    const sdk = registry();
    await sdk.registerService({ id: 'ledger-3', name: 'ledger', version: '2.0.0', address: '127.0.0.1', port: 9004 });
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/run-payments.ts', import.meta.url))], {
      env: { ...process.env, SWITCHBOARD_URL: fixture.node.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const release = trackOpen('process', `run-payments (pid ${child.pid})`, async () => {
      child.kill('SIGKILL');
      await exited;
    });
    try {
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        void exited.then((code) => reject(new Error(`exited ${code}: ${stderr}`)));
      });
      const { ready, ledger } = JSON.parse(line) as { ready: string; ledger: string };
      expect(ledger).toBe('http://127.0.0.1:9004/entries');
      expect(await sdk.getService(ready)).toMatchObject({ name: 'payments' });

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await sdk.getService(ready)).toBeUndefined();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      release();
    }
  });
});
