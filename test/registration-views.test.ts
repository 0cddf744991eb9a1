import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DiscoverServicesDocument,
  EventsDocument,
  LatestEventIdDocument,
  OnHealthChangedDocument,
  OnInstancesChangedDocument,
  OnServiceChangedDocument,
  RegisterServiceDocument,
  ServiceDocument,
  ServiceHealthDocument,
  type HealthCheckInput,
} from '@switchboard/client';
import { errorCode, instance, take } from './support/client.js';
import { useRegistryNode } from './support/nodes.js';
import { tracked } from './support/leaks.js';

// One registration, four views: the mutation's answer, the event's data, the pushes of the
// subscriptions, and the next read. Once the answer said CRITICAL while the pushed
// REGISTERED change said PASSING, and the SDK believed the push.
const registry = useRegistryNode();

/**
 * An HTTP check target whose answers are held until `open()`: "up", with its first probe's answer
 * under the test's control, so the views of the registration itself can be read before any probe lands.
 */
async function startGatedTarget() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const server: Server = createServer((_req, res) => void gate.then(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('up')));
  server.keepAliveTimeout = 500;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const target = {
    url: `http://127.0.0.1:${port}/healthz`,
    open,
    close: () =>
      new Promise<void>((resolve) => {
        open();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return tracked('target', `gated HTTP 127.0.0.1:${port}`, target, 'close');
}

/** A port nothing listens on: a server started and closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let gated: Awaited<ReturnType<typeof startGatedTarget>>;
let consulBase: string;

beforeAll(async () => {
  gated = await startGatedTarget();
  consulBase = `http://127.0.0.1:${registry.node.port}`;
});
afterAll(() => gated?.close());

/** Registers `id` (service `name`) with `check` and gathers what every view says of it. */
async function registerAndWatch(name: string, id: string, check: HealthCheckInput) {
  const client = registry.clients.create(registry.node.url);
  const { latestEventId: after } = await client.request(LatestEventIdDocument);
  const serviceChanges = client.subscribe(OnServiceChangedDocument, { name, after });
  const instanceChanges = client.subscribe(OnInstancesChangedDocument, { names: [name], after });
  const healthChanges = client.subscribe(OnHealthChangedDocument, { name, after });
  const { registerService: answer } = await client.request(RegisterServiceDocument, { input: instance({ id, name, healthCheck: check }) });
  const [registered] = (await take(serviceChanges, 1)).map((push) => push.serviceChanged);
  // The registration's own changes: the instance, then its new check.
  const [instancePush, checkPush] = (await take(instanceChanges, 2)).map((push) => push.instancesChanged);
  const [healthPush] = (await take(healthChanges, 1)).map((push) => push.healthChanged);
  await Promise.all([serviceChanges.return!(), instanceChanges.return!()]);
  const { events } = await client.request(EventsDocument, { types: ['service.registered'], after });
  const event = events.find((each) => (each.data as { id: string }).id === id)!;
  return { client, answer, registered: registered!, instancePush: instancePush!, checkPush: checkPush!, healthPush: healthPush!, event, healthChanges };
}

/** What the next reads say: `service`, `serviceHealth`, passing discovery, and Consul's passing health. */
async function nextReads(client: ReturnType<typeof registry.clients.create>, name: string, id: string) {
  const { service } = await client.request(ServiceDocument, { id });
  const { serviceHealth } = await client.request(ServiceHealthDocument, { id });
  const { discoverServices } = await client.request(DiscoverServicesDocument, { name, passingOnly: true });
  const consul = (await (await fetch(`${consulBase}/v1/health/service/${name}?passing`)).json()) as { Service: { ID: string } }[];
  return {
    service: service?.health.status,
    serviceHealth: serviceHealth.status,
    passingDiscovery: discoverServices.some((found) => found.id === id),
    consulPassing: consul.some((entry) => entry.Service.ID === id),
  };
}

function instanceStatus(change: { __typename?: string } & Record<string, unknown>): unknown {
  return change.__typename === 'HealthChange' ? change['instanceStatus'] : (change['instance'] as { health: { status: string } }).health.status;
}

describe('the views of one registration agree', () => {
  it('a check whose target is down: the answer, the event, every push and the next read say CRITICAL', async () => {
    const down = `http://127.0.0.1:${await closedPort()}/healthz`;
    const views = await registerAndWatch('views-down', 'views-down-1', { http: down, interval: '1s' });
    expect(views.answer.health.status).toBe('CRITICAL');
    expect((views.event.data as { instance: { checkStatus: string } }).instance.checkStatus).toBe('CRITICAL');
    expect(views.registered).toMatchObject({ kind: 'REGISTERED', instance: { health: { status: 'CRITICAL' } } });
    expect(views.instancePush).toMatchObject({ __typename: 'ServiceChange', kind: 'REGISTERED' });
    expect(instanceStatus(views.instancePush)).toBe('CRITICAL');
    expect(views.checkPush).toMatchObject({ __typename: 'HealthChange', previousStatus: null, status: 'CRITICAL' });
    expect(instanceStatus(views.checkPush)).toBe('CRITICAL');
    // The instance was never passing: its first health change says so too.
    expect(views.healthPush).toMatchObject({ previousStatus: null, status: 'CRITICAL', previousInstanceStatus: 'CRITICAL', instanceStatus: 'CRITICAL' });
    expect(await nextReads(views.client, 'views-down', 'views-down-1')).toEqual({
      service: 'CRITICAL',
      serviceHealth: 'CRITICAL',
      passingDiscovery: false,
      consulPassing: false,
    });
    await views.healthChanges.return!();
  });

  it('a check whose target is up: CRITICAL everywhere until the first probe passes, then PASSING everywhere, with a health change', async () => {
    const views = await registerAndWatch('views-up', 'views-up-1', { http: gated.url, interval: '1s', timeout: '10s' });
    expect(views.answer.health.status).toBe('CRITICAL');
    expect((views.event.data as { instance: { checkStatus: string } }).instance.checkStatus).toBe('CRITICAL');
    expect(views.registered.instance.health.status).toBe('CRITICAL');
    expect(instanceStatus(views.instancePush)).toBe('CRITICAL');
    expect(instanceStatus(views.checkPush)).toBe('CRITICAL');
    expect(views.healthPush).toMatchObject({ previousInstanceStatus: 'CRITICAL', instanceStatus: 'CRITICAL' });
    // The probe is held at the target: nothing has passed yet.
    expect(await nextReads(views.client, 'views-up', 'views-up-1')).toEqual({
      service: 'CRITICAL',
      serviceHealth: 'CRITICAL',
      passingDiscovery: false,
      consulPassing: false,
    });

    gated.open();
    const [passed] = (await take(views.healthChanges, 1)).map((push) => push.healthChanged);
    expect(passed).toMatchObject({ previousStatus: 'CRITICAL', status: 'PASSING', previousInstanceStatus: 'CRITICAL', instanceStatus: 'PASSING' });
    await views.healthChanges.return!();
    expect(await nextReads(views.client, 'views-up', 'views-up-1')).toEqual({
      service: 'PASSING',
      serviceHealth: 'PASSING',
      passingDiscovery: true,
      consulPassing: true,
    });
  });

  it('an instance re-registered with a changed definition and a new check: the UPDATED push says what the answer says', async () => {
    const client = registry.clients.create(registry.node.url);
    const first = instance({ id: 'views-updated-1', name: 'views-updated' });
    expect((await client.request(RegisterServiceDocument, { input: first })).registerService.health.status).toBe('PASSING');
    const { latestEventId: after } = await client.request(LatestEventIdDocument);
    const changes = client.subscribe(OnServiceChangedDocument, { name: 'views-updated', after });
    try {
      const down = `http://127.0.0.1:${await closedPort()}/healthz`;
      const { registerService: answer } = await client.request(RegisterServiceDocument, {
        input: { ...first, version: '1.1.0', healthCheck: { http: down, interval: '1s' } },
      });
      const [updated] = (await take(changes, 1)).map((push) => push.serviceChanged);
      expect(answer.health.status).toBe('CRITICAL');
      expect(updated).toMatchObject({ kind: 'UPDATED', instance: { version: '1.1.0', health: { status: 'CRITICAL' } } });
      expect((await nextReads(client, 'views-updated', 'views-updated-1')).service).toBe('CRITICAL');
    } finally {
      await changes.return!();
    }
  });

  it('re-registering an unchanged check keeps its status; `status` sets where a new check starts', async () => {
    const client = registry.clients.create(registry.node.url);
    const check = { http: gated.url, interval: '1s', timeout: '10s' };
    const input = instance({ id: 'views-again-1', name: 'views-again', healthCheck: check });
    gated.open();
    await client.request(RegisterServiceDocument, { input });
    const { latestEventId: after } = await client.request(LatestEventIdDocument);
    const health = client.subscribe(OnHealthChangedDocument, { name: 'views-again', after });
    expect((await take(health, 1))[0]!.healthChanged).toMatchObject({ status: 'PASSING', instanceStatus: 'PASSING' });
    await health.return!();
    const { registerService: again } = await client.request(RegisterServiceDocument, { input });
    expect(again.health.status).toBe('PASSING');

    // Declared passing (Consul's Status): every view says so from the start.
    const down = `http://127.0.0.1:${await closedPort()}/healthz`;
    const views = await registerAndWatch('views-declared', 'views-declared-1', { http: down, interval: '1m', status: 'PASSING' });
    expect(views.answer.health.status).toBe('PASSING');
    expect(views.registered.instance.health.status).toBe('PASSING');
    expect(views.healthPush).toMatchObject({ previousStatus: null, status: 'PASSING', instanceStatus: 'PASSING' });
    await views.healthChanges.return!();
  });
});

describe('where a new check starts', () => {
  it("Consul's Status is honoured on agent registration (default critical); a status no check starts as is refused", async () => {
    const down = `http://127.0.0.1:${await closedPort()}/healthz`;
    const register = (body: unknown) => fetch(`${consulBase}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify(body) });
    expect((await register({ Name: 'consul-declared', ID: 'consul-declared-1', Check: { HTTP: down, Interval: '1m', Status: 'passing' } })).status).toBe(200);
    expect((await register({ Name: 'consul-declared', ID: 'consul-declared-2', Check: { HTTP: down, Interval: '1m' } })).status).toBe(200);
    const passing = (await (await fetch(`${consulBase}/v1/health/service/consul-declared?passing`)).json()) as { Service: { ID: string } }[];
    expect(passing.map((entry) => entry.Service.ID)).toEqual(['consul-declared-1']);
    const refused = await register({ Name: 'consul-declared', ID: 'consul-declared-3', Check: { HTTP: down, Interval: '1m', Status: 'fine' } });
    expect(refused.status).toBe(400);

    const client = registry.clients.create(registry.node.url);
    const unknown = client.request(RegisterServiceDocument, { input: instance({ name: 'views-unknown', healthCheck: { http: down, status: 'UNKNOWN' } }) });
    expect(await errorCode(unknown)).toBe('BAD_USER_INPUT');
  });
});
