import { ServiceDiscovery, SwitchboardRegistry } from '@switchboard/sdk';
import { tsImport } from 'tsx/esm/api';
import { describe, expect, it } from 'vitest';
import { eventually, withTimeout } from '../../../test/support/wait.js';
import { useRegistryNode } from '../../../test/support/nodes.js';
import { startHttpTarget } from '../../../test/support/targets.js';
import type * as Payments from './fixtures/payments.js';

/**
 * `start()` waits for a passing instance of each dependency, through the discovery cache, which believes
 * what the registry pushes. The registry used to push a new instance as PASSING while its HTTP check was
 * CRITICAL: `start()` resolved and the first call threw "No instance of ledger to call: none is passing".
 * Here the dependency registers after `start()` began, with a check whose target fails.
 */
const fixture = useRegistryNode();
const loadPayments = () => tsImport('./fixtures/payments.ts', import.meta.url) as Promise<typeof Payments>;

/** Resolves the first time `condition` holds after a change of `name` in the cache. */
function whenCached(discovery: ServiceDiscovery, name: string, condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const stop = discovery.onChange((changed) => {
      if (changed !== name || !condition()) return;
      stop();
      resolve();
    });
  });
}

/** Every callback already due has run (listeners are synchronous; a resolved promise settles in microtasks). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('start() and a dependency that registers critical', () => {
  it('does not resolve while the dependency is critical, and resolves once its check passes', async () => {
    const { PaymentService, start } = await loadPayments();
    const client = fixture.clients.create(fixture.node.url);
    const sdk = new SwitchboardRegistry(client);
    const discovery = new ServiceDiscovery({ registry: client });
    const ledger = await startHttpTarget();
    ledger.answer('/healthz', { status: 503, body: 'warming up' });
    ledger.answer('/balance', { status: 200, body: '' });

    const looked = whenCached(discovery, 'ledger', () => discovery.cached('ledger', { passingOnly: false }) !== undefined);
    let resolved = false;
    const starting = start(PaymentService, { registry: sdk, discovery, address: '127.0.0.9', handleSignals: false, dependencyTimeoutMs: 25_000 });
    void starting.then(
      () => (resolved = true),
      () => {},
    );
    try {
      // start() has asked for ledger and found none: the dependency registers now, later.
      await withTimeout(looked, 10_000, 'start() never looked ledger up');
      const known = () => discovery.cached('ledger', { passingOnly: false })?.instances[0];
      const seen = whenCached(discovery, 'ledger', () => known() !== undefined);
      // Its health known too: the registration's health change was applied after the instance.
      const checked = whenCached(discovery, 'ledger', () => known()?.health.status === 'CRITICAL');
      await sdk.registerService({
        id: 'ledger-critical-1',
        name: 'ledger',
        version: '2.0.0',
        address: '127.0.0.1',
        port: ledger.port,
        healthCheck: { http: ledger.url('/healthz'), interval: '1s' },
      });
      await withTimeout(seen, 10_000, 'the registration was never pushed to the cache');
      await settle();
      expect(known()!.health.status).toBe('CRITICAL');
      expect(resolved).toBe(false);
      await withTimeout(checked, 10_000, "the registration's health change was never pushed");
      // After its dependencies, start() reads its @config values (requests of their own): give it the time of
      // two failed probes of ledger's check, which is ample for those, before saying it is still waiting.
      await eventually(() => (ledger.hits('/healthz').length >= 2 ? true : undefined), 10_000);
      await settle();
      expect(resolved).toBe(false);

      ledger.answer('/healthz', { status: 200, body: 'ok' });
      const running = await withTimeout(starting, 15_000, 'start() did not resolve once ledger passed');
      try {
        await running.instance.ledger.get('/balance');
        expect(ledger.hits('/balance')).toHaveLength(1);
      } finally {
        await running.stop();
      }
    } finally {
      await starting.then((running) => running.stop()).catch(() => {});
      await discovery.close();
      await sdk.unregisterService('ledger-critical-1').catch(() => {});
      await ledger.close();
    }
  });
});
