import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LatestEventIdDocument, OnEventsDocument, SwitchboardClient, SwitchboardError } from '@switchboard/client';
import { discoveryPicker, ServiceClient, ServiceDiscovery, SwitchboardRegistry } from '@switchboard/sdk';
import { tsImport } from 'tsx/esm/api';
import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type * as Payments from '../../sdk/test/fixtures/payments.js';

/**
 * A registry that cannot be reached: a port a server listened on and closed, so nothing answers there.
 * Every entry point of the client and the SDK fails with a SwitchboardError `UNAVAILABLE` (retry), the
 * network's own error as its `cause`; it used to be `TypeError: fetch failed`, or a bare socket event.
 */
let url: string;

beforeAll(async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  url = `http://127.0.0.1:${port}/graphql`;
});

const clients: SwitchboardClient[] = [];
function client(): SwitchboardClient {
  const created = new SwitchboardClient({ url, retryAttempts: 0, webSocketImpl: WebSocket });
  clients.push(created);
  return created;
}

/** The failure `promise` ends with; the test fails if it resolves. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail: nothing listens there');
    },
    (error: unknown) => error,
  );
}

function expectUnavailable(error: unknown): void {
  expect(error).toBeInstanceOf(SwitchboardError);
  expect(error).toMatchObject({ code: 'UNAVAILABLE' });
  expect((error as Error).cause).toBeDefined();
}

describe('an unreachable registry is UNAVAILABLE', () => {
  it('client: a request, and a subscription whose connection fails', async () => {
    const request = await failure(client().request(LatestEventIdDocument));
    expectUnavailable(request);
    expect((request as Error).message).toContain(url);
    expect((request as Error).cause).toBeInstanceOf(TypeError);

    const subscribing = client();
    const stream = subscribing.subscribe(OnEventsDocument, { after: '0' });
    expectUnavailable(await failure(stream.next()));
    await subscribing.close().catch(() => {});
  });

  it('SDK: register, discover, heartbeat, a discovery lookup, start and a dependency call', async () => {
    const registry = new SwitchboardRegistry(client(), { registerAttempts: 2, registerBackoffMs: 10 });
    expectUnavailable(await failure(registry.registerService({ name: 'payments', address: '127.0.0.1' })));
    expectUnavailable(await failure(registry.discoverServices('ledger')));
    expectUnavailable(await failure(registry.renewService('payments')));

    const discovery = new ServiceDiscovery({ registry: client(), timeoutMs: 2_000 });
    try {
      expectUnavailable(await failure(discovery.discover('ledger')));
      const ledger = new ServiceClient({ service: 'ledger', picker: discoveryPicker(discovery, 'ledger'), retry: { maxRetries: 0 } });
      expectUnavailable(await failure(ledger.get('/balance')));
    } finally {
      await discovery.close();
    }

    const { PaymentService, start } = (await tsImport('../../sdk/test/fixtures/payments.ts', import.meta.url)) as typeof Payments;
    expectUnavailable(await failure(start(PaymentService, { registry, address: '127.0.0.1', handleSignals: false, dependencyTimeoutMs: 1_000 })));
    await Promise.all(clients.splice(0).map((each) => each.close().catch(() => {})));
  });
});
