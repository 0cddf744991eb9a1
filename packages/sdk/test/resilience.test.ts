import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CircuitBreakerDocument, RegisterServiceDocument } from '@switchboard/client';
import {
  CircuitBreakerRegistry,
  OutcomeReporter,
  RetryBudget,
  ServiceClient,
  UpstreamStatusError,
  type InstancePicker,
  type PickedInstance,
  type PickOptions,
} from '@switchboard/sdk';
import { ConsecutiveBreaker } from 'cockatiel';
import { afterEach, describe, expect, it } from 'vitest';
import { useRegistryNode } from '../../../test/support/nodes.js';

/**
 * A ServiceClient against real HTTP instances this file starts (healthy ones, one answering 500, one that never
 * answers) and, for the outcome reports, a real Switchboard node.
 */
type Behaviour = 'ok' | 'fail' | 'hang';

interface Target extends PickedInstance {
  behaviour: Behaviour;
  hits: number;
  server: Server;
}

const targets: Target[] = [];

afterEach(async () => {
  await Promise.all(
    targets.splice(0).map((target) => {
      target.server.closeAllConnections();
      return new Promise((resolve) => target.server.close(resolve));
    }),
  );
});

async function startTarget(behaviour: Behaviour): Promise<Target> {
  const target = { behaviour, hits: 0 } as Target;
  target.server = createServer((request, response) => {
    target.hits += 1;
    if (behaviour === 'hang') return; // never answers
    response.writeHead(behaviour === 'ok' ? 200 : 500, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ instance: target.id, path: request.url }));
  });
  target.server.listen(0, '127.0.0.1');
  await once(target.server, 'listening');
  target.port = (target.server.address() as AddressInfo).port;
  target.address = '127.0.0.1';
  target.id = `${behaviour}-${target.port}`;
  targets.push(target);
  return target;
}

/** Round robin over a fixed list, honouring `exclude`: the part of the balancer the client relies on. */
class RoundRobinPicker implements InstancePicker {
  private next = 0;
  constructor(private readonly instances: readonly PickedInstance[]) {}
  async pick(options: PickOptions = {}): Promise<PickedInstance> {
    const eligible = this.instances.filter(({ id }) => !options.exclude?.has(id));
    if (eligible.length === 0) throw new Error('no instance left to pick');
    return eligible[this.next++ % eligible.length]!;
  }
}

/** Breakers that never open, for tests about something else. */
const noBreaker = () => new ConsecutiveBreaker(Number.MAX_SAFE_INTEGER);

describe('ServiceClient', () => {
  it('opens the breaker of a failing instance and moves its traffic to the others', async () => {
    const [a, b, failing] = await Promise.all([startTarget('ok'), startTarget('ok'), startTarget('fail')]);
    const breakers = new CircuitBreakerRegistry({ breaker: () => new ConsecutiveBreaker(3), halfOpenAfterMs: 60_000, outliers: false });
    const client = new ServiceClient({ service: 'ledger', picker: new RoundRobinPicker([a!, b!, failing!]), breakers, retry: { initialDelayMs: 1 } });

    const answers = [];
    for (let i = 0; i < 60; i++) answers.push(await client.get<{ instance: string }>('/entries'));

    expect(answers.every(({ instance }) => instance === a!.id || instance === b!.id)).toBe(true);
    expect(breakers.state(failing!.id)).toBe('OPEN');
    expect(breakers.healthy([a!, b!, failing!]).map(({ id }) => id)).toEqual([a!.id, b!.id]);
    // Three failures open it; after that no call reaches it (round robin alone would send it 20).
    expect(failing!.hits).toBe(3);
  });

  it('gives up on a hanging instance at the per-try timeout and retries on another', async () => {
    const [a, hanging, b] = await Promise.all([startTarget('ok'), startTarget('hang'), startTarget('ok')]);
    const client = new ServiceClient({
      service: 'ledger',
      picker: new RoundRobinPicker([a!, hanging!, b!]),
      breakers: new CircuitBreakerRegistry({ outliers: false, breaker: noBreaker }),
      tryTimeoutMs: 200,
      timeoutMs: 5_000,
      retry: { initialDelayMs: 1 },
    });

    for (let i = 0; i < 6; i++) {
      const started = performance.now();
      const { instance } = await client.get<{ instance: string }>('/entries');
      expect([a!.id, b!.id]).toContain(instance);
      expect(performance.now() - started).toBeLessThan(1_500);
    }
    expect(hanging!.hits).toBeGreaterThanOrEqual(2);
  });

  it('keeps retries within the budget when every instance fails', async () => {
    const failing = await Promise.all([startTarget('fail'), startTarget('fail'), startTarget('fail'), startTarget('fail')]);
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1, windowMs: 10_000 });
    const client = new ServiceClient({
      service: 'ledger',
      picker: new RoundRobinPicker(failing),
      breakers: new CircuitBreakerRegistry({ outliers: false, breaker: noBreaker }),
      budget,
      retry: { maxRetries: 3, initialDelayMs: 1, maxDelayMs: 5 },
      // Not the subject: a hundred concurrent calls on a loaded machine must each end with the instance's answer.
      tryTimeoutMs: 30_000,
      timeoutMs: 60_000,
    });

    const calls = 100;
    const results = await Promise.allSettled(Array.from({ length: calls }, () => client.get('/entries')));

    expect(results.every((result) => result.status === 'rejected' && result.reason instanceof UpstreamStatusError)).toBe(true);
    const retries = failing.reduce((sum, target) => sum + target.hits, 0) - calls;
    // 20% of 100 requests plus 1 a second over 10 seconds; unbounded, 3 retries each would be 300.
    expect(retries).toBeGreaterThan(0);
    expect(retries).toBeLessThanOrEqual(calls * 0.2 + 10);
    expect(budget.stats()).toEqual({ requests: calls, retries });
  });

  it('never ejects more than the max ejection percent of the instances', async () => {
    const failing = await Promise.all([startTarget('fail'), startTarget('fail'), startTarget('fail'), startTarget('fail')]);
    const breakers = new CircuitBreakerRegistry({
      breaker: noBreaker,
      outliers: { consecutiveFailures: 2, maxEjectionPercent: 50, baseEjectionMs: 60_000 },
    });
    const client = new ServiceClient({ service: 'ledger', picker: new RoundRobinPicker(failing), breakers, retry: { maxRetries: 0 } });

    let mostEjected = 0;
    for (let i = 0; i < 40; i++) {
      await client.get('/entries').catch(() => {});
      mostEjected = Math.max(mostEjected, failing.filter(({ id }) => breakers.isEjected(id)).length);
    }

    expect(mostEjected).toBe(2);
    expect(breakers.healthy(failing)).toHaveLength(2);
    // The two left in keep taking the traffic; the ejected ones saw only the failures that ejected them.
    expect(failing.map(({ hits }) => hits).sort((x, y) => x - y)).toEqual([2, 2, 18, 18]);
  });

  it("url() answers synchronously through the picker's pickNow, leaving out open breakers; without pickNow it says so", async () => {
    const [ok, failing] = await Promise.all([startTarget('ok'), startTarget('fail')]);
    class SyncPicker extends RoundRobinPicker {
      private turn = 0;
      pickNow(options: PickOptions = {}): PickedInstance {
        const eligible = [failing!, ok!].filter(({ id }) => !options.exclude?.has(id));
        return eligible[this.turn++ % eligible.length]!;
      }
    }
    const breakers = new CircuitBreakerRegistry({ breaker: () => new ConsecutiveBreaker(1), halfOpenAfterMs: 60_000, outliers: false });
    const client = new ServiceClient({ service: 'ledger', picker: new SyncPicker([failing!, ok!]), breakers, retry: { maxRetries: 0 } });
    const url: string = client.url('/entries');
    expect(url).toBe(`http://127.0.0.1:${failing!.port}/entries`);

    await expect(client.get('/entries')).rejects.toThrow(UpstreamStatusError);
    expect(breakers.state(failing!.id)).toBe('OPEN');
    expect([client.url('/a'), client.url('/b')]).toEqual([`http://127.0.0.1:${ok!.port}/a`, `http://127.0.0.1:${ok!.port}/b`]);

    const asyncOnly = new ServiceClient({ service: 'ledger', picker: new RoundRobinPicker([ok!]) });
    expect(() => asyncOnly.url()).toThrow('ServiceClient(ledger).url() needs a picker that can choose synchronously (pickNow)');
  });
});

describe('OutcomeReporter', () => {
  // A report slow to be answered on a loaded machine must not be cut off by the request deadline (and dropped).
  const registry = useRegistryNode({ SWITCHBOARD_REQUEST_TIMEOUT: '60s' });

  it('coalesces outcomes into a few reportCallOutcome requests, and the server breakers reflect them', async () => {
    const [healthy, failing] = await Promise.all([startTarget('ok'), startTarget('fail')]);
    for (const target of [healthy!, failing!]) {
      await registry.client.request(RegisterServiceDocument, { input: { id: target.id, name: 'ledger', address: target.address, port: target.port } });
    }
    let reportRequests = 0;
    const countingFetch: typeof fetch = (input, init) => {
      reportRequests += 1;
      return fetch(input, init);
    };
    const reporter = new OutcomeReporter({ client: registry.clients.create(registry.node.url, undefined, { fetch: countingFetch }), intervalMs: 200 });
    const client = new ServiceClient({
      service: 'ledger',
      picker: new RoundRobinPicker([healthy!, failing!]),
      breakers: new CircuitBreakerRegistry({ outliers: false, breaker: noBreaker }),
      reporter,
      retry: { maxRetries: 0 },
    });

    for (let i = 0; i < 40; i++) await client.get('/entries').catch(() => {});
    await reporter.close();

    expect(reporter.stats()).toMatchObject({ reported: 40, sent: 40, dropped: 0 });
    expect(reportRequests).toBeLessThanOrEqual(4);
    const healthyBreaker = await registry.client.request(CircuitBreakerDocument, { id: healthy!.id });
    expect(healthyBreaker.service?.circuitBreaker).toMatchObject({ state: 'CLOSED', calls: 20, failures: 0 });
    const failingBreaker = await registry.client.request(CircuitBreakerDocument, { id: failing!.id });
    expect(failingBreaker.service?.circuitBreaker.state).toBe('OPEN');
    expect(failingBreaker.service?.circuitBreaker.failures).toBeGreaterThanOrEqual(5);
  });

  it('a batch naming an instance the registry does not know still records every other outcome', async () => {
    for (const id of ['reported-a', 'reported-b']) {
      await registry.client.request(RegisterServiceDocument, { input: { id, name: 'reported', address: '127.0.0.1', port: 9100 } });
    }
    const reporter = new OutcomeReporter({ client: registry.clients.create(registry.node.url), intervalMs: 60_000 });
    // Queued per instance in this order, so one batch holds them so: a's, the unknown one's, then b's.
    for (let i = 0; i < 3; i++) reporter.report('reported-a', { success: true, latencyMs: 5 });
    for (let i = 0; i < 2; i++) reporter.report('reported-gone', { success: false, latencyMs: 5 });
    for (let i = 0; i < 4; i++) reporter.report('reported-b', { success: false, latencyMs: 5 });
    await reporter.flush();

    // The first request records a's and stops at the unknown instance; the second sends b's.
    expect(reporter.stats()).toEqual({ reported: 9, sent: 7, dropped: 2, requests: 2 });
    const a = await registry.client.request(CircuitBreakerDocument, { id: 'reported-a' });
    expect(a.service?.circuitBreaker).toMatchObject({ calls: 3, failures: 0 });
    const b = await registry.client.request(CircuitBreakerDocument, { id: 'reported-b' });
    expect(b.service?.circuitBreaker).toMatchObject({ calls: 4, failures: 4 });
  });

  it('drops and counts outcomes when the registry is unreachable, without holding up the call', async () => {
    const target = await startTarget('ok');
    const reporter = new OutcomeReporter({ client: registry.clients.create('http://127.0.0.1:1/graphql'), intervalMs: 10 });
    const client = new ServiceClient({ service: 'ledger', picker: new RoundRobinPicker([target]), reporter });

    await expect(client.get('/entries')).resolves.toMatchObject({ instance: target.id });
    await reporter.close();

    expect(reporter.stats()).toMatchObject({ reported: 1, sent: 0, dropped: 1 });
  });
});
